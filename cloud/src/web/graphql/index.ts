export type { GraphqlDeps } from "./deps.js";
export { GRAPHQL_PATH, type GraphqlAdapter, graphqlSchema, LIMITS, mountGraphql } from "./server.js";
