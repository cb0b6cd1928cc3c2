import { expect, test } from "bun:test"
import { NodeMetrics } from "../../../src/metrics/node-metrics.ts"

test("a node's registry has the process metrics but not the heap-space gauges that walk Bun's heap", async () => {
  const metrics = new NodeMetrics("n1")
  const text = await metrics.registry.metrics()
  expect(text).toContain("process_cpu_seconds_total")
  expect(text).toContain("nodejs_heap_size_used_bytes")
  expect(text).toContain('node="n1"')
  expect(text).not.toContain("nodejs_heap_space_size")
})
