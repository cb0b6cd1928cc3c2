/** The on-disk format of a `kv-<group>.db` (see src/storage/format-version.ts for the mechanism). */
import type { FormatSpec } from "../storage/format-version.ts"
import { moveRowsToRevisionKeys } from "./tables.ts"

export const KV_DB_FORMAT: FormatSpec = {
  what: "state machine",
  current: 3,
  migrations: [
    // 1 → 2 only stamps the file.
    { from: 1, run: () => {} },
    { from: 2, run: moveRowsToRevisionKeys },
  ],
}
