/** Shapes every domain's API shares. */
import { z } from "zod";

/** The API's one error body: `{error: {code, message, problems?}}`. */
export const ApiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    problems: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;

export const Role = z.enum(["viewer", "operator", "admin"]);
export type Role = z.infer<typeof Role>;

/** Money: integer minor units (cents) and an ISO 4217 currency code. Never floats. */
export const Money = z.object({ amountMinor: z.number().int(), currency: z.string().regex(/^[A-Z]{3}$/) });
export type Money = z.infer<typeof Money>;
