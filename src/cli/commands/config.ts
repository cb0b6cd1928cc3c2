/** `lattice config generate | validate | show`. */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { Effect } from "effect"
import { ENV_CONFIG_FILE } from "../../config/env-names.ts"
import { generateToml } from "../../config/generate.ts"
import { loadConfig } from "../../config/load.ts"
import { renderJson, renderToml } from "../../config/render.ts"
import { configSummaryLine } from "../../config/summary.ts"
import { type Command, ExitCode } from "../framework/types.ts"
import { CONFIG_FLAG, flagOverrides, NODE_FLAGS, SET_FLAG } from "./node-flags.ts"
import { reportConfigError, usageError } from "./report.ts"

const generate: Command = {
  name: "generate",
  summary: "write a complete, commented config file with every key and its default",
  description:
    "Writes TOML for one node: every key with its value, what it means and its environment variable.\n" +
    "Flags set values in the generated file. The environment is not read, so the output only depends\n" +
    "on the arguments. Writes to stdout when OUT_FILE is not given.",
  args: [
    { name: "NODE_ID", description: 'the node\'s id (default "n1")', optional: true },
    { name: "OUT_FILE", description: "file to write (parent directories are created)", optional: true },
  ],
  flags: [
    ...NODE_FLAGS,
    SET_FLAG,
    { name: "force", short: "f", type: "boolean", description: "overwrite OUT_FILE if it exists" },
  ],
  examples: [
    "lattice config generate 4 /etc/lattice/node4.toml",
    "lattice config generate n1 --members n1,n2,n3 --data-dir /var/lib/lattice/node-1 > node1.toml",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const [nodeId, outFile] = input.args
      const flagId = input.string("node-id")
      if (nodeId !== undefined && flagId !== undefined && nodeId !== flagId)
        return yield* usageError(
          io,
          "lattice config generate",
          `NODE_ID "${nodeId}" differs from --node-id "${flagId}"`,
        )
      const extra =
        nodeId === undefined ? [] : [{ path: ["node", "id"], value: nodeId, source: "argument NODE_ID" }]
      const loaded = yield* loadConfig({ env: {}, flags: flagOverrides(input, extra), cwd: io.cwd })
      const text = generateToml(loaded.decoded)
      if (outFile === undefined) {
        io.stdout(text)
        return ExitCode.ok
      }
      const target = resolve(io.cwd, outFile)
      if (existsSync(target) && !input.bool("force")) {
        io.stderr(`error: ${target} already exists; pass --force to overwrite it\n`)
        return ExitCode.failure
      }
      mkdirSync(dirname(target), { recursive: true })
      writeFileSync(target, text)
      io.stderr(`wrote ${target} (node ${loaded.decoded.node.id})\n`)
      return ExitCode.ok
    }).pipe(Effect.catchTag("ConfigError", reportConfigError(io))),
}

const validate: Command = {
  name: "validate",
  summary: "check a config file; exit 0 with a one-line summary, or print every problem",
  description:
    "Checks the file alone (defaults + file), as a node would read it, without the environment.\n" +
    `FILE defaults to --config, then $${ENV_CONFIG_FILE}. Exit codes: 0 valid, 78 invalid, 2 usage.`,
  args: [{ name: "FILE", description: "the TOML file to check", optional: true }],
  flags: [CONFIG_FLAG],
  examples: ["lattice config validate /tmp/new-config.toml"],
  run: (input, io) =>
    Effect.gen(function* () {
      const file = input.args[0] ?? input.string("config") ?? io.env[ENV_CONFIG_FILE]
      if (file === undefined || file === "")
        return yield* usageError(
          io,
          "lattice config validate",
          `no file to validate: give FILE, --config or $${ENV_CONFIG_FILE}`,
        )
      const loaded = yield* loadConfig({ file: resolve(io.cwd, file), env: {}, cwd: io.cwd })
      io.stdout(`OK ${file}: ${configSummaryLine(loaded.config)}\n`)
      return ExitCode.ok
    }).pipe(Effect.catchTag("ConfigError", reportConfigError(io))),
}

const show: Command = {
  name: "show",
  summary: "print the effective configuration (defaults < file < LATTICE_* env < flags)",
  flags: [
    CONFIG_FLAG,
    ...NODE_FLAGS,
    SET_FLAG,
    { name: "format", type: "string", placeholder: "toml|json", description: "output format (default toml)" },
  ],
  examples: [
    "lattice config show --config /etc/lattice/node1.toml",
    "LATTICE_NODE_ID=n2 lattice config show --format json",
  ],
  run: (input, io) =>
    Effect.gen(function* () {
      const format = input.string("format") ?? "toml"
      if (format !== "toml" && format !== "json")
        return yield* usageError(
          io,
          "lattice config show",
          `--format must be "toml" or "json", got "${format}"`,
        )
      const file = input.string("config")
      const loaded = yield* loadConfig({
        file: file === undefined ? undefined : resolve(io.cwd, file),
        env: io.env,
        flags: flagOverrides(input),
        cwd: io.cwd,
      })
      io.stdout(format === "json" ? renderJson(loaded.config) : renderToml(loaded.config))
      return ExitCode.ok
    }).pipe(Effect.catchTag("ConfigError", reportConfigError(io))),
}

export const configCommand: Command = {
  name: "config",
  summary: "generate, validate and show node configuration",
  subcommands: [generate, validate, show],
  examples: [
    "lattice config generate 4 /etc/lattice/node4.toml",
    "lattice config validate /etc/lattice/node4.toml",
  ],
}
