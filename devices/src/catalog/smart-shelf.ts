import type { DeviceType } from "../types.js";
import { otaUpdate } from "./firmware.js";

export const smartShelf: DeviceType = {
  type: "smart-shelf",
  name: "Smart shelf",
  description: "Retail shelf with load cells; the firmware turns weight into an item count.",
  category: "retail",
  metrics: [
    { name: "weight", type: "number", unit: "kg", description: "Total load on the shelf", min: 0, max: 200 },
    {
      name: "item_count",
      type: "integer",
      unit: "pcs",
      description: "Items on the shelf (weight / unit weight)",
      min: 0,
      max: 10000,
      normal: { min: 5, max: 10000 },
    },
    { name: "unit_weight", type: "number", unit: "kg", description: "Configured weight of one item", min: 0.001, max: 50 },
    { name: "door_open", type: "boolean", unit: "", description: "Cabinet door open" },
  ],
  commands: [
    otaUpdate,
    { name: "tare", description: "Zero the load cells with the shelf empty", params: [] },
    {
      name: "set_unit_weight",
      description: "Set the weight of one item, used to count items",
      params: [{ name: "kg", type: "number", description: "Weight of one item", required: true, unit: "kg", min: 0.001, max: 50 }],
    },
  ],
  protocols: { mqtt: { telemetryIntervalMs: 10000 } },
};
