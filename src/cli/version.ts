/**
 * The version, read from package.json through a JSON import so `bun build --compile` bakes it
 * into the binary, plus the runtime the process runs on.
 */
import packageJson from "../../package.json" with { type: "json" }

export const LATTICE_VERSION: string = packageJson.version

declare const Deno: { version: { deno: string } } | undefined

const runtimeName = (): string => {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`
  if (typeof Deno !== "undefined") return `deno ${Deno.version.deno}`
  return `node ${process.version}`
}

export const versionText = (): string =>
  `lattice ${LATTICE_VERSION}\nruntime: ${runtimeName()} (${process.platform}-${process.arch})`
