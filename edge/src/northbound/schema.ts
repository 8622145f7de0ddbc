/** Config of the edge's link to the cloud; the schema is shared (common/src/edge-config/uplink.ts). */
export { type UplinkConfig, uplinkSchema } from "@bitvelocity/common/edge-config";
