/**
 * The shipping carrier's SOAP contract (proto/carrier.wsdl), shipped with this package: the
 * carrier simulator serves it and the cloud's carrier adapter builds its client from it, so both
 * sides read one file.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Absolute path of carrier.wsdl (works from src/ under vitest and from dist/ once built). */
export const CARRIER_WSDL_PATH = fileURLToPath(new URL("../proto/carrier.wsdl", import.meta.url));

/** The WSDL's XML text. */
export function carrierWsdl(): string {
  return readFileSync(CARRIER_WSDL_PATH, "utf8");
}

/** The WSDL's target namespace (the CarrierFault detail is in it). */
export const CARRIER_NAMESPACE = "urn:bitvelocity:carrier:v1";
