export { ReleaseDir } from "./release-dir.js";
export { RESTART_EXIT_CODE, Updater, type UpdateSettings } from "./updater.js";
