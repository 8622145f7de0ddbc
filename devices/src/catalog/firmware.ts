import type { CommandDef } from "../types.js";

/**
 * Commands every MQTT device's firmware understands, whatever it measures. `ota_update` downloads
 * and installs a firmware image, reports progress on `bv/{id}/status`, reboots, and answers on
 * `bv/{id}/cmd/result` after the reboot with the version it now runs.
 */
export const otaUpdate: CommandDef = {
  name: "ota_update",
  description: "Download and install a firmware image, then reboot",
  params: [
    { name: "version", type: "string", description: "Firmware version to install", required: true, maxLength: 32 },
    { name: "size_kb", type: "integer", description: "Image size", required: false, unit: "KiB", min: 1, max: 65536 },
  ],
};
