/** The effective configuration printed as TOML or JSON (`config show`). */
import { stringify } from "smol-toml"
import type { NodeConfig } from "./resolve.ts"

/** Keys left unset are omitted (TOML has no null). */
const plain = (config: NodeConfig): Record<string, unknown> => JSON.parse(JSON.stringify(config))

export const renderToml = (config: NodeConfig): string => `${stringify(plain(config))}\n`

export const renderJson = (config: NodeConfig): string => `${JSON.stringify(plain(config), null, 2)}\n`
