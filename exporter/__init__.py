"""exporter: turning avatars into files and services (.lam and .ply I/O, command-line tools, the server)."""
