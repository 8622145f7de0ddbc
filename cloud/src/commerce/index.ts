/** What adapters (web/graphql, the REST wiring) may use of commerce: its module, services and checkout entry point. */
export {
  type Checkout,
  type CheckoutApi,
  type CheckoutRefusal,
  CheckoutRefused,
  type PlacedOrder,
} from "./checkout.js";
export { type CommerceModule, commerceModule } from "./module.js";
export type { OrderStatusChange } from "./projections.js";
export type { CommerceServices } from "./services.js";
export type { ShipmentOutcome, ShipmentStage, Shipments, ShipmentUpdate } from "./shipments.js";
