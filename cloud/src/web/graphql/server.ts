/**
 * The GraphQL adapter: graphql-yoga at /graphql (POST/GET queries and mutations, GraphiQL for a
 * browser) behind the same session-or-API-token check as /api, and graphql-ws subscriptions on a
 * WebSocket at the same path. Depth, cost and alias limits refuse an abusive document before it
 * runs; unexpected errors are masked (no message, no stack).
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { costLimitPlugin } from "@escape.tech/graphql-armor-cost-limit";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import type { Express, Request, Response } from "express";
import type { ExecutionArgs } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { createGraphQLError, createSchema, createYoga } from "graphql-yoga";
import helmet from "helmet";
import { WebSocketServer } from "ws";
import { type Principal, tokenFromAuthorization, tokenFromCookie } from "../../identity/index.js";
import { authenticate } from "../auth-routes.js";
import { csrfGuard } from "../security.js";
import { commerceResolvers } from "./commerce-resolvers.js";
import { commerceTypeDefs } from "./commerce-type-defs.js";
import type { GraphqlContext, GraphqlDeps } from "./deps.js";
import { createLoaders, storeCallCounter } from "./loaders.js";
import { resolvers } from "./resolvers.js";
import { typeDefs } from "./type-defs.js";

export const GRAPHQL_PATH = "/graphql";
// The cost rule multiplies by page arguments (first): one 500-device page with its fields is about 40,000.
export const LIMITS = { depth: 8, cost: 50_000, aliases: 15 } as const;

export function graphqlSchema(deps: GraphqlDeps) {
  return createSchema<GraphqlContext>({ typeDefs: [typeDefs, commerceTypeDefs], resolvers: [resolvers(deps), commerceResolvers(deps)] });
}

export interface GraphqlAdapter {
  stop(): Promise<void>;
}

interface Enveloped {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}

interface ServerContext {
  req?: Request;
  res?: Response;
  user?: Principal;
}

/** Mounts /graphql on `app` and the graphql-ws endpoint on `http`; call before the SPA fallback. */
export function mountGraphql(app: Express, http: Server, deps: GraphqlDeps): GraphqlAdapter {
  const calls = storeCallCounter(deps);
  const yoga = createYoga<ServerContext, GraphqlContext>({
    schema: graphqlSchema(deps),
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: { subscriptionsProtocol: "WS", title: "BitVelocity GraphQL" },
    landingPage: false,
    maskedErrors: true,
    logging: {
      debug: () => undefined,
      info: () => undefined,
      warn: (...args) => deps.logger.warn({ args }, "graphql"),
      error: (...args) => deps.logger.error({ args }, "graphql"),
    },
    plugins: [
      maxDepthPlugin({ n: LIMITS.depth, exposeLimits: true }),
      costLimitPlugin({ maxCost: LIMITS.cost, exposeLimits: true }),
      maxAliasesPlugin({ n: LIMITS.aliases, exposeLimits: true }),
    ],
    context: ({ res, user }) => {
      const principal = res?.locals.user ?? user;
      if (!principal) throw createGraphQLError("log in first", { extensions: { code: "UNAUTHENTICATED" } });
      return { user: principal as Principal, loaders: createLoaders(deps, calls) };
    },
  });

  // Not frameable, no MIME sniffing, as the dashboard. No CSP here: yoga's GraphiQL page runs inline
  // scripts and loads its bundle from unpkg.com (docs/graphql/README.md).
  app.use(GRAPHQL_PATH, helmet({ contentSecurityPolicy: false, frameguard: { action: "deny" }, strictTransportSecurity: false }));
  // A mutation riding on a session cookie must come from an allowed origin (or carry the CSRF token), as on /api.
  app.use(
    GRAPHQL_PATH,
    csrfGuard(() => deps.allowedOrigins ?? []),
  );
  app.use(GRAPHQL_PATH, async (req, res, next) => {
    const user = await authenticate(deps, requestToken(req.get("authorization"), req.get("cookie")));
    if (!user) {
      res.status(401).json({
        errors: [{ message: "log in first (POST /api/auth/login) or send an API token", extensions: { code: "UNAUTHENTICATED" } }],
      });
      return;
    }
    res.locals.user = user;
    next();
  });
  app.all(GRAPHQL_PATH, (req, res) => yoga(req, res, { req, res }));

  const wss = new WebSocketServer({ noServer: true });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(req.url ?? "/", "http://localhost").pathname !== GRAPHQL_PATH) return;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  };
  http.on("upgrade", onUpgrade);
  const wsServer = useServer<Record<string, unknown> | undefined, { user?: Principal }>(
    {
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const fromParams = typeof params.authorization === "string" ? tokenFromAuthorization(params.authorization) : undefined;
        const request = ctx.extra.request;
        // A cookie is sent by any page the browser visits: only same-origin pages may use it here.
        const cookieToken = sameOrigin(request) ? tokenFromCookie(request.headers.cookie) : undefined;
        const user = await authenticate(deps, fromParams ?? requestToken(request.headers.authorization, undefined) ?? cookieToken);
        if (!user) return false;
        ctx.extra.user = user;
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: undefined,
          res: undefined,
          user: ctx.extra.user,
        });
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName ?? null,
          document: parse(payload.query),
          variableValues: payload.variables ?? null,
          contextValue: await contextFactory(),
        };
        const errors = validate(args.schema, args.document);
        if (errors.length > 0) return errors;
        return { ...args, rootValue: { execute, subscribe } } as ExecutionArgs;
      },
      // The enveloped execute/subscribe (with yoga's plugins) ride on rootValue (yoga's documented graphql-ws recipe).
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args: ExecutionArgs) => (args.rootValue as Enveloped).subscribe(args) as never,
    },
    wss,
  );

  return {
    async stop() {
      http.off("upgrade", onUpgrade);
      await wsServer.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function requestToken(authorization: string | undefined, cookie: string | undefined): string | undefined {
  return tokenFromAuthorization(authorization) ?? tokenFromCookie(cookie);
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
