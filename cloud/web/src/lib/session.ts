/** Who is logged in, and the catalog (loaded once per session). */

import type { DeviceType, User } from "@bitvelocity/api";
import { api } from "./api.js";

let user: User | null = null;
let catalog: Map<string, DeviceType> | null = null;

export const session = {
  get user(): User | null {
    return user;
  },
  set(u: User | null): void {
    user = u;
    if (!u) catalog = null;
  },
  canCommand(): boolean {
    return user !== null && user.role !== "viewer";
  },
  async catalog(): Promise<Map<string, DeviceType>> {
    if (!catalog) {
      const { types } = await api.catalog();
      catalog = new Map(types.map((t) => [t.type, t]));
    }
    return catalog;
  },
};
