/**
 * The version, read from package.json through a JSON import so `bun build --compile` bakes it
 * into the binary, plus the runtime the process runs on.
 */
import packageJson from "../../package.json" with { type: "json" }

export const LATTICE_VERSION: string = packageJson.version

// process.versions names the runtime on Bun, Deno and Node alike (no runtime globals needed).
const runtimeName = (): string => {
  const versions = process.versions as Record<string, string | undefined>
  if (versions.bun) return `bun ${versions.bun}`
  if (versions.deno) return `deno ${versions.deno}`
  return `node ${process.version}`
}

export const versionText = (): string =>
  `lattice ${LATTICE_VERSION}\nruntime: ${runtimeName()} (${process.platform}-${process.arch})`
