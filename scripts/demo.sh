#!/usr/bin/env bash
# `make demo`: the main job for real. A local receiver on a free port, a deploy event, a
# small NDJSON batch and a wrapped command sent to it, then what it stored, and where a
# receiver's page is. Everything lives in a temporary folder (HOME included) that is
# removed at the end, receiver too.
set -euo pipefail

work="$(mktemp -d "${TMPDIR:-/tmp}/stac-events-demo.XXXXXX")"
receiver_pid=""
log_pid=""
finish() {
    if [ -n "$receiver_pid" ] && kill -0 "$receiver_pid" 2>/dev/null; then
        kill -TERM "$receiver_pid" 2>/dev/null || true
        wait "$receiver_pid" 2>/dev/null || true
    fi
    if [ -n "$log_pid" ]; then
        wait "$log_pid" 2>/dev/null || true  # ends with the receiver's output
    fi
    rm -rf "$work"
}
trap finish EXIT

# Nothing is read from or written to the user's own folders: no config, no spool. A proxy
# set for the outside world must not stand between the sends and a receiver on loopback.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_STATE_HOME="$work/home/.local/state"
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
unset STAC_EVENTS_CONFIG XDG_CACHE_HOME
mkdir -p "$HOME"

echo "== Starting a local receiver"
# Its output comes through a pipe: the first line says where it listens, once it does.
# What it prints after goes on to a log, so that the pipe never fills.
exec 3< <(STAC_EVENTS_RECEIVER_KEY=demo-key \
    exec stac-events receiver --port 0 --db "$work/events.db" 2>&1)
receiver_pid=$!
url=""
while IFS= read -r -t 300 line <&3; do
    case "$line" in
        "Listening on http://"*) url="${line#Listening on }"; url="${url%% *}"; break ;;
        *) echo "   $line" ;;
    esac
done
[ -n "$url" ] || { echo "the receiver did not start"; exit 1; }
cat <&3 >"$work/receiver.log" &
log_pid=$!
exec 3<&-
echo "   $url"
export STAC_EVENTS_RECEIVER_URL="$url" STAC_EVENTS_API_KEY=demo-key

echo "== A deploy event"
stac-events event send DeployEvent \
    --title "Deployed checkout 1.4.2 to staging" \
    --text "Rolled out by make demo" \
    -i urn:service:/checkout urn:service:/checkout-db \
    -s demo-pipeline -c Changes \
    -d version=1.4.2 environment=staging \
    --links "Release notes: https://example.com/releases/1.4.2" \
    -t env:staging team:payments

echo "== A batch of three, as NDJSON on stdin"
printf '%s\n' \
    '{"msg_title": "Cache warmed", "context": {"element_identifiers": ["urn:service:/checkout"]}}' \
    '{"msg_title": "Feature flag new-cart on", "event_type": "FeatureFlagEvent"}' \
    '{"msg_title": "Smoke tests passed", "context": {"category": "Activities"}}' \
| stac-events event send PipelineEvent --file - -s demo-pipeline

echo "== A wrapped command: its output streams, then an event says how it went"
stac-events event wrap -i urn:service:/checkout-db -s demo-pipeline -- \
    sh -c 'echo "applying migration 0042_add_cart_index"; echo "1 migration applied"'

echo "== What the receiver stored"
stac-events receiver events --db "$work/events.db"

kill -TERM "$receiver_pid"
wait "$receiver_pid"
receiver_pid=""
echo "== Receiver stopped; the demo's folder is removed"

# The demo's receiver and its events are gone with its folder; a receiver of your own keeps
# its events (under your state folder), and shows them on the same page.
echo "== To look at events in a browser"
echo "   While it ran, the demo's receiver showed these events at $url/"
echo "   Run one of your own: stac-events receiver"
echo "   then open http://127.0.0.1:7077/ and send to it as above; with --api-key, open"
echo "   http://127.0.0.1:7077/?api_key=YOUR_KEY once."
