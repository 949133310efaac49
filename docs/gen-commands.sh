#!/usr/bin/env bash
# Regenerate docs/commands.md from the binary's own --help (a test checks it is current):
#   cargo build && docs/gen-commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${HOOKCLI:-target/debug/hookcli}
{
    echo "# Commands"
    echo
    echo "Generated from \`hookcli --help\` by \`docs/gen-commands.sh\`; the guides explain the why:"
    echo "[forwarding.md](forwarding.md), [replay.md](replay.md), [storage.md](storage.md), [json.md](json.md)."
    echo
    echo "Status codes \`listen\` answers: \`HEAD\` 200 with an empty body (Intercom's URL validation,"
    echo "never stored); \`GET\` on the prefix 200 with a short text (shown, never stored); any other method is stored, then"
    echo "200 \`{\"ok\":true,\"id\":\"<capture id>\"}\` (with \`\"state\":\"OK\"\` for an Intercom health check; 401 with \`--reject-invalid\` for an invalid or"
    echo "missing signature, still stored); 404 outside \`--path\`; 405 for \`CONNECT\`; 413 over \`--max-body\`; 414 for an overlong request target (in a head that fits in 64 KiB: past that it is 431 like any head too large); 431 for headers"
    echo "over 64 KiB or more than 100 of them; 400 for malformed HTTP, a target that is no path (\`*\`) a request with two \`Host\` headers or an HTTP/1.1 one with none; 411 for an HTTP/1.0 request without \`Content-Length\`; 408 when the body does not"
    echo "arrive within 30 s; 503 when the store cannot write, or when a body over 64 KiB found no"
    echo "room in memory for 10 s, or that the system would not give memory for (bodies that large share 256 MiB, or twice --max-body if more, and the queue of captures waiting to be printed holds at most 64 MiB more: 100 bodies of 10 MiB at once left listen at a peak of about 300 MiB; every"
    echo "smaller one is read at once). A client must send its request head within 10 s (one cut off mid-head gets no answer, and listen prints a notice, at most one every 10 s). At most"
    echo "512 connections are served at once (listen raises its open-file limit to fit them, 576 descriptors, 1088 with --passthrough; where the hard limit, \`ulimit -Hn\`, is lower, it serves as many as that leaves room for and says so); when all are taken, a new client gets the slot of the"
    echo "one that has gone longest without finishing a request, if that is 2 s or more and it is"
    echo "not waiting for its answer (an idle keep-alive connection, or a client stalled or crawling"
    echo "mid-request), and a notice says so."
    echo
    echo 'Every option shown with `[env: HOOKCLI_…]` can be set by that environment variable instead;'
    echo "the option on the command line wins. A variable set to the empty string counts as not set."
    for cmd in "" listen list show export import delete skip stats vacuum replay send check verify topics completions man; do
        echo
        if [ -z "$cmd" ]; then echo "## hookcli"; else echo "## hookcli $cmd"; fi
        echo
        echo '```text'
        # shellcheck disable=SC2086
        env -i PATH="$PATH" "$bin" $cmd --help
        echo '```'
    done
} > docs/commands.md
