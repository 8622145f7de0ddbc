/**
 * The commerce part of the schema (SDL): catalog, stock, orders with their timelines, placeOrder
 * and the orderStatus subscription. Money is integer minor units (cents) with an ISO 4217 currency;
 * amounts are Float because GraphQL's Int is 32-bit and an order's total can exceed it.
 */
export const commerceTypeDefs = /* GraphQL */ `
  enum ProductKind {
    device
    consumable
    shelf_item
  }

  enum OrderStatus {
    placed
    reserved
    payment_pending
    authorized
    captured
    confirmed
    cancelled
  }

  type Product {
    sku: ID!
    name: String!
    kind: ProductKind!
    "For kind device: the catalog device type a purchase provisions."
    deviceType: String
    priceMinor: Float!
    currency: String!
    "Tax rate in basis points (2000 = 20 %)."
    taxRateBp: Int!
    active: Boolean!
    "Units that can be ordered now at the shop's warehouse (on hand minus reserved)."
    available: Int!
    updatedAt: Float!
  }

  type StockLevel {
    sku: ID!
    location: String!
    onHand: Int!
    reserved: Int!
    available: Int!
  }

  type OrderLine {
    sku: ID!
    name: String!
    kind: ProductKind!
    deviceType: String
    quantity: Int!
    unitPriceMinor: Float!
    taxRateBp: Int!
    lineTotalMinor: Float!
  }

  "One event of the order's stream as its timeline shows it: a saga step, a retry, a compensation."
  type TimelineEntry {
    version: Int!
    type: String!
    step: String!
    status: String!
    detail: String!
    at: Float!
  }

  type Order {
    id: ID!
    siteId: ID!
    placedBy: String!
    status: OrderStatus!
    subtotalMinor: Float!
    taxMinor: Float!
    totalMinor: Float!
    currency: String!
    lines: [OrderLine!]!
    "Why it was cancelled, or why it waits (payments unavailable)."
    reason: String
    placedAt: Float!
    updatedAt: Float!
    version: Int!
    "The saga's steps and compensations, oldest first (loaded for every listed order in one query)."
    timeline: [TimelineEntry!]!
  }

  "A status an order took; version is the order event that gave it."
  type OrderStatusChange {
    orderId: ID!
    status: OrderStatus!
    reason: String
    version: Int!
    at: Float!
  }

  input OrderLineInput {
    sku: String!
    "1 to 1000."
    quantity: Int!
  }

  input PlaceOrderInput {
    siteId: ID!
    "1 to 50 lines, one per SKU. Prices and totals come from the catalog."
    lines: [OrderLineInput!]!
  }

  extend type Query {
    "The catalog with what is available now; all: inactive products too."
    products(all: Boolean = false): [Product!]!
    "Stock per SKU and location, optionally for one SKU and/or one location."
    stock(sku: String, location: String): [StockLevel!]!
    "Orders, newest first, as REST lists them; first is capped at 500."
    orders(siteId: ID, status: OrderStatus, first: Int = 100): [Order!]!
    order(id: ID!): Order
  }

  extend type Mutation {
    """
    Places an order (operator) through the same checkout as POST /api/commerce/orders: validation,
    role, audit, and idempotencyKey (the same key answers the first order; with another input it is
    refused with IDEMPOTENCY_KEY_REUSED). Answers the confirmed order; otherwise an error with
    extensions.code OUT_OF_STOCK, ORDER_CANCELLED or PAYMENTS_UNAVAILABLE (with extensions.orderId).
    """
    placeOrder(input: PlaceOrderInput!, idempotencyKey: String): Order!
  }

  extend type Subscription {
    "Each status of an order, from the first (placed) to a final one (confirmed or cancelled), then completes."
    orderStatus(id: ID!): OrderStatusChange!
  }
`;
