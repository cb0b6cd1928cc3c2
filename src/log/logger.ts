/**
 * Structured logs on Effect's Logger: one line per event, JSON (`{"ts","level","msg",...}`) or
 * text for humans, with the log annotations as fields: `node` (set for the node's fibers),
 * `group` and `term` (Raft events), `request_id` (a client request, carried through forwarding
 * to the leader: src/node/forward.ts). `[telemetry] log_level` / `log_format`, or `--log-level`
 * and `--log-format` on `lattice start` and `lattice dev`. docs/logging.md.
 */
import { Cause, HashMap, Layer, Logger, LogLevel } from "effect"

export type LogFormat = "json" | "text"
export type LogLevelName = "debug" | "info" | "warn" | "error"

const LEVELS: Record<LogLevelName, LogLevel.LogLevel> = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
}

const levelName = (level: LogLevel.LogLevel): string =>
  level._tag === "Warning" ? "warn" : level._tag === "Fatal" ? "error" : level.label.toLowerCase()

const messageText = (message: unknown): string => {
  const parts = Array.isArray(message) ? message : [message]
  return parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" ")
}

/** A logger writing one line per event through `write` (no trailing newline). */
export const makeLogger = (format: LogFormat, write: (line: string) => void): Logger.Logger<unknown, void> =>
  Logger.make(({ logLevel, message, annotations, date, cause }) => {
    const fields: Record<string, unknown> = {}
    for (const [k, v] of HashMap.toEntries(annotations)) fields[k] = v
    const error = Cause.isEmpty(cause) ? undefined : Cause.pretty(cause)
    const msg = messageText(message)
    if (format === "json") {
      write(
        JSON.stringify({
          ts: date.toISOString(),
          level: levelName(logLevel),
          msg,
          ...fields,
          ...(error === undefined ? {} : { error }),
        }),
      )
      return
    }
    const kv = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(" ")
    const level = levelName(logLevel).toUpperCase().padEnd(5)
    write(
      `${date.toISOString()} ${level} ${msg}${kv === "" ? "" : ` ${kv}`}${error === undefined ? "" : `\n${error}`}`,
    )
  })

/** Replaces the default logger and sets the minimum level. */
export const loggingLayer = (options: {
  readonly level: LogLevelName
  readonly format: LogFormat
  readonly write: (line: string) => void
}): Layer.Layer<never> =>
  Layer.merge(
    Logger.replace(Logger.defaultLogger, makeLogger(options.format, options.write)),
    Logger.minimumLogLevel(LEVELS[options.level]),
  )
