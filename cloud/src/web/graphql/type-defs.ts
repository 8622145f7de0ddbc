/**
 * The GraphQL schema (SDL); commerce-type-defs.ts extends it. Times are milliseconds since the
 * epoch (Float). The printed schema is kept in docs/graphql/schema.graphql; cloud-graphql.test.ts
 * fails when the two differ.
 */
export const typeDefs = /* GraphQL */ `
  "Any JSON value (command parameters, reading values)."
  scalar JSON

  enum Role {
    viewer
    operator
    admin
  }

  "Bucket size of a telemetry history: every reading, one-minute or one-hour buckets."
  enum Resolution {
    RAW
    ONE_MINUTE
    ONE_HOUR
  }

  enum AlertState {
    open
    acknowledged
    resolved
    "open or acknowledged"
    active
  }

  type User {
    username: String!
    role: Role!
  }

  type Site {
    id: ID!
    name: String!
    edges: [Edge!]!
    "The site's devices, sorted by id; first is capped at 500."
    devices(first: Int = 100, after: ID): DevicePage!
    deviceCount: Int!
    onlineDevices: Int!
  }

  type Edge {
    id: ID!
    name: String!
    site: Site!
    online: Boolean!
    lastSeen: Float
    connectedAt: Float
    agentVersion: String
    devices(first: Int = 100, after: ID): DevicePage!
  }

  "A page of devices sorted by id; pass endCursor as after for the next page."
  type DevicePage {
    nodes: [Device!]!
    totalCount: Int!
    endCursor: ID
    hasNextPage: Boolean!
  }

  type MetricValue {
    metric: String!
    value: JSON!
    ts: Float!
  }

  type SeriesPoint {
    ts: Float!
    min: Float!
    max: Float!
    avg: Float!
    count: Int!
  }

  type Reading {
    edgeId: ID!
    seq: Float!
    ts: Float!
    values: JSON!
  }

  type Device {
    id: ID!
    name: String!
    type: String!
    online: Boolean!
    lastSeen: Float
    edge: Edge!
    site: Site!
    "The newest value of each metric (by timestamp, never by arrival)."
    latest: [MetricValue!]!
    "One metric's history; first is capped at 2000 points."
    history(metric: String!, from: Float, to: Float, resolution: Resolution = RAW, first: Int = 500): [SeriesPoint!]!
    "Raw readings, oldest first; first is capped at 1000."
    readings(from: Float, to: Float, first: Int = 100): [Reading!]!
    "Open and acknowledged alerts about this device."
    activeAlerts: [Alert!]!
  }

  type Alert {
    id: ID!
    ruleId: ID!
    ruleName: String!
    kind: String!
    severity: String!
    subjectKind: String!
    subjectId: ID!
    message: String!
    value: Float
    state: AlertState!
    active: Boolean!
    firedAt: Float!
    clearedAt: Float
    acknowledgedAt: Float
    acknowledgedBy: String
    resolvedAt: Float
    resolvedBy: String
  }

  type Command {
    id: ID!
    deviceId: ID!
    edgeId: ID!
    name: String!
    params: JSON!
    status: String!
    message: String
    result: JSON
    createdAt: Float!
    updatedAt: Float!
    expiresAt: Float!
    requestedBy: String!
  }

  type Query {
    viewer: User!
    sites: [Site!]!
    site(id: ID!): Site
    edges: [Edge!]!
    edge(id: ID!): Edge
    "Devices matching every given filter, sorted by id; first is capped at 500."
    devices(site: ID, edge: ID, type: String, q: String, online: Boolean, first: Int = 100, after: ID): DevicePage!
    device(id: ID!): Device
    "Newest first; first is capped at 500."
    alerts(state: AlertState, subject: ID, first: Int = 100): [Alert!]!
    alert(id: ID!): Alert
  }

  type Mutation {
    "Sends a command to a device (operator); the same validation and audit as POST /api/devices/:id/commands."
    sendCommand(deviceId: ID!, name: String!, params: JSON, ttlS: Int): Command!
    "Acknowledges an alert (operator); the same as POST /api/alerts/:id/ack."
    acknowledgeAlert(id: ID!): Alert!
  }

  "A reading of one device as the cloud committed it."
  type LiveReading {
    edgeId: ID!
    deviceId: ID!
    seq: Float!
    ts: Float!
    values: JSON!
  }

  type Subscription {
    "Live readings of one device (graphql-ws over WebSocket at /graphql)."
    deviceReadings(deviceId: ID!): LiveReading!
  }
`;
