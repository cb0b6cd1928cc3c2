/** `lattice start` listener flags on port 0: the OS picks free ports, so tests never clash with each other (or an etcd). */
export const FREE_PORT_FLAGS: readonly string[] = [
  "--listen-etcd",
  "127.0.0.1:0",
  "--listen-http",
  "127.0.0.1:0",
  "--listen-metrics",
  "127.0.0.1:0",
]
