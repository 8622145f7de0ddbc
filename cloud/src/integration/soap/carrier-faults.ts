/**
 * What a failed carrier call means, from the soap client's error (no I/O, unit-tested):
 * - a SOAP 1.1 Fault with faultcode Client [SOAP 1.1 §4.4.1]: the request is wrong — refused,
 *   neither retried nor counted against the breaker; its CarrierFault detail gives a stable code;
 * - a Fault with faultcode Server, an HTTP 5xx without an envelope, or no answer at all
 *   (connection refused or reset): the carrier is failing — transient.
 */

export type CarrierFailure =
  | { readonly transient: true; readonly message: string }
  | { readonly transient: false; readonly code: string; readonly message: string };

interface SoapFaultShape {
  faultcode?: unknown;
  faultstring?: unknown;
  detail?: { CarrierFault?: { code?: unknown; message?: unknown } };
}

export function classify(err: unknown): CarrierFailure {
  const e = (typeof err === "object" && err !== null ? err : {}) as {
    root?: { Envelope?: { Body?: { Fault?: SoapFaultShape } } };
    response?: { status?: number };
    code?: unknown;
    message?: unknown;
  };
  const fault = e.root?.Envelope?.Body?.Fault;
  if (fault) {
    const faultcode = String(fault.faultcode ?? "");
    const detail = fault.detail?.CarrierFault;
    const code = typeof detail?.code === "string" ? detail.code : "CARRIER_FAULT";
    const message = typeof detail?.message === "string" ? detail.message : String(fault.faultstring ?? "SOAP Fault");
    // The local part decides: soap:Client, SOAP-ENV:Client, Client.Validation [SOAP 1.1 §4.4.1: dot-separated refinements].
    const side = faultcode.split(":").pop()?.split(".")[0];
    if (side === "Client") return { transient: false, code, message: `carrier refused the request (${code}): ${message}` };
    return { transient: true, message: `carrier fault ${faultcode} (${code}): ${message}` };
  }
  const status = e.response?.status;
  if (typeof status === "number" && status >= 500) return { transient: true, message: `carrier answered HTTP ${status}` };
  if (typeof status === "number" && status >= 400)
    return { transient: false, code: `HTTP_${status}`, message: `carrier answered HTTP ${status} (check commerce.carrier_url)` };
  const why = typeof e.code === "string" ? e.code : typeof e.message === "string" ? e.message : String(err);
  return { transient: true, message: `carrier unreachable: ${why}` };
}
