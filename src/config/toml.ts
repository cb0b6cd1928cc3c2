/**
 * TOML reading: parse with smol-toml and turn syntax errors into a ConfigError naming the file,
 * line and column; and find the line where a key is written, for schema errors.
 */
import { Either } from "effect"
import { parse, TomlError } from "smol-toml"
import { ConfigError } from "./error.ts"

export const parseToml = (
  text: string,
  file: string,
): Either.Either<Record<string, unknown>, ConfigError> => {
  try {
    return Either.right(parse(text) as Record<string, unknown>)
  } catch (e) {
    if (e instanceof TomlError) {
      // smol-toml's message is "Invalid TOML document: <reason>\n\n<code block>".
      const reason = e.message.split("\n")[0]!.replace(/^Invalid TOML document:\s*/, "")
      return Either.left(
        new ConfigError({
          file,
          summary: `${file}:${e.line}:${e.column}: TOML syntax error: ${reason}`,
          issues: [],
          hint: `fix the TOML at line ${e.line}, column ${e.column}:\n${e.codeblock}`,
        }),
      )
    }
    throw e
  }
}

const HEADER = /^\s*(\[\[?)\s*([A-Za-z0-9_."-]+?)\s*\]\]?\s*(#.*)?$/
const KEY = /^\s*"?([A-Za-z0-9_-]+)"?\s*=/

/**
 * The 1-based line where `path` is written, or undefined. Understands `[a]`, `[a.b]`,
 * `[[a.b]]` (numeric path segments count the array-of-tables headers) and `key = value`;
 * dotted keys and inline tables are not followed (the caller then reports the file only).
 */
export const lineOfKey = (text: string, path: ReadonlyArray<string | number>): number | undefined => {
  const lines = text.split(/\r?\n/)
  const arrayCounts = new Map<string, number>()
  let table: Array<string | number> = []
  const target = path.map(String).join(".")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const header = HEADER.exec(line)
    if (header) {
      const name = header[2]!.replaceAll('"', "")
      if (header[1] === "[[") {
        const index = arrayCounts.get(name) ?? 0
        arrayCounts.set(name, index + 1)
        table = [...name.split("."), index]
      } else {
        table = name.split(".")
      }
      if (table.map(String).join(".") === target) return i + 1
      continue
    }
    const key = KEY.exec(line)
    if (key && [...table, key[1]!].map(String).join(".") === target) return i + 1
  }
  return undefined
}
