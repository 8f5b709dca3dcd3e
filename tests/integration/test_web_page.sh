#!/usr/bin/env bash
# The chat page in a real browser: the inference image runs under minictr with a published
# port, memory/CPU limits and a volume on /app/data; Debian's headless chromium opens
# http://127.0.0.1:PORT/ and is driven over the DevTools protocol (python3-websocket):
# types a prompt, clicks Send, waits for the reply to stream into the DOM, checks the
# container panel and a server error shown in the page, and saves a screenshot
# ($TEST_TMP/web-page.png; copied to $MINICTR_SCREENSHOT_OUT when set). Then the container
# is stopped and started, then removed and run again: the history file in the volume
# brings the exchange back each time.
source "$(dirname "$0")/lib.sh"

INFERENCE_TAR=$MINICTR_BUILD/images/inference.tar
[[ -f $INFERENCE_TAR ]] || fail "missing $INFERENCE_TAR (cmake --build builds target inference-image)"
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[[ -x $CHROMIUM ]] || fail "no chromium (apt-get install chromium; scripts/setup lists it)"
# Debian's python3 (python3-websocket is installed for it), even when another is first in PATH.
py=/usr/bin/python3
[[ -x $py ]] || py=python3
"$py" -c 'import websocket' 2>/dev/null || fail "no python3-websocket (apt-get install python3-websocket)"

port=$((18300 + _n))
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port already in use"; fi

data=$TEST_TMP/data
mkdir -p "$data"
id=$(mctr run -d -p "$port:8080" -m 512m --cpus 1 -v "$data:/app/data" "$INFERENCE_TAR")
[[ -n $id ]] || fail "run printed no id"

wait_healthy() {
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf --max-time 2 "http://127.0.0.1:$port/health" >/dev/null && return 0
    sleep 0.2
  done
  mctr logs "$id" >&2 || true
  fail "/health not 200 within 20 s"
}
wait_healthy

# Headless chromium with its own profile in the temp dir, DevTools on loopback only. Port 0:
# chromium picks a free one and writes it to DevToolsActivePort in the profile.
profile=$TEST_TMP/chromium-profile
"$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
  --disable-extensions --disable-background-networking --disable-sync --mute-audio --disable-dev-shm-usage \
  --remote-debugging-address=127.0.0.1 --remote-debugging-port=0 \
  --user-data-dir="$profile" --window-size=1100,1000 about:blank >"$TEST_TMP/chromium.log" 2>&1 &
HOST_PIDS+=($!)
for ((i = 0; i < 100; i++)); do
  [[ -s $profile/DevToolsActivePort ]] && break
  sleep 0.1
done
[[ -s $profile/DevToolsActivePort ]] || { cat "$TEST_TMP/chromium.log" >&2; fail "chromium did not open its DevTools port"; }
devtools_port=$(head -1 "$profile/DevToolsActivePort")

cat >"$TEST_TMP/cdp.py" <<'EOF'
# Drives one chromium tab over the DevTools protocol: cdp.py DEVTOOLS_PORT PAGE_URL STEP OUT
import json, sys, time, urllib.request
import websocket

devtools, url, step, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{devtools}/json/list", timeout=5))
page = next(t for t in tabs if t["type"] == "page")
# No Origin header: chromium refuses DevTools connections from web origins it was not told of.
ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
next_id = 0
events = []  # the protocol's events (no "id"), kept until wait_event takes them

def call(method, **params):
    global next_id
    next_id += 1
    ws.send(json.dumps({"id": next_id, "method": method, "params": params}))
    while True:
        msg = json.loads(ws.recv())
        if "method" in msg:
            events.append(msg)
        elif msg.get("id") == next_id:
            if "error" in msg:
                raise RuntimeError(f"{method}: {msg['error']}")
            return msg.get("result", {})

def js(expr):
    r = call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
    if "exceptionDetails" in r:
        raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
    return r["result"].get("value")

def wait_for(expr, what, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        v = js(expr)
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}; page text:\n{js('document.body.innerText')}")

def wait_event(method):
    while True:
        for e in events:
            if e["method"] == method:
                events.remove(e)
                return e["params"]
        msg = json.loads(ws.recv())  # the socket's timeout (30 s) bounds the wait
        if "method" in msg:
            events.append(msg)

def click(selector):
    box = js(f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
             " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    for kind in ("mousePressed", "mouseReleased"):
        call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

def type_into(selector, text):
    js(f"document.querySelector({json.dumps(selector)}).focus()")
    call("Input.insertText", text=text)

call("Emulation.setDeviceMetricsOverride", width=1000, height=900, deviceScaleFactor=1, mobile=False)
call("Page.enable")
if step == "chat":
    # The page's request for the history is held back (the DevTools Fetch domain) until a
    # message has been sent: the page must wait for it, as it must when a busy server answers
    # /history after the user has pressed Send.
    call("Fetch.enable", patterns=[{"urlPattern": "*/history"}])
call("Page.navigate", url=url)
wait_for("document.readyState === 'complete' && document.getElementById('status').textContent === 'model ready'",
         "the page to load and say 'model ready'")
wait_for("document.querySelector('#container-body .meter') !== null", "the container panel")
result = {"container": js("document.getElementById('container-body').innerText")}

if step == "chat":
    # Count DOM changes while the reply streams in.
    js("window.__changes = 0; new MutationObserver(() => window.__changes++).observe("
       "document.getElementById('messages'), {subtree: true, childList: true, characterData: true}); true")
    type_into("#prompt", "Once upon a time")
    js("document.getElementById('temperature').value = '0'; true")
    held = wait_event("Fetch.requestPaused")
    click("#send")
    time.sleep(0.5)
    result["messages_before_history"] = js("document.querySelectorAll('.msg').length")
    call("Fetch.continueRequest", requestId=held["requestId"])
    call("Fetch.disable")
    wait_for("document.querySelector('.msg.assistant[data-done=\"1\"]') !== null", "the streamed reply")
    result["reply"] = js("document.querySelector('.msg.assistant[data-done=\"1\"] .text').textContent")
    result["stats"] = js("document.querySelector('.msg.assistant[data-done=\"1\"] .stats').textContent")
    result["user"] = js("document.querySelector('.msg.user .text').textContent")
    result["changes"] = js("window.__changes")
    result["pieces"] = js("Number(document.querySelector('.msg.assistant[data-done=\"1\"]').dataset.pieces)")
    # A request the server refuses: its JSON error shows in the page's error box.
    js("document.getElementById('n_predict').value = '300'; true")
    type_into("#prompt", "and then?")
    click("#send")
    wait_for("!document.getElementById('error').hidden", "the error box")
    result["error"] = js("document.getElementById('error').textContent")
    result["messages_after_error"] = js("document.querySelectorAll('.msg').length")
    js("document.getElementById('n_predict').value = '128'; document.getElementById('prompt').value = '';"
       " document.getElementById('error').hidden = true; true")
elif step == "nojs":
    # The same page without JavaScript: the form posts to /chat, a whole page comes back.
    call("Emulation.setScriptExecutionDisabled", value=True)
    call("Page.navigate", url=url)
    wait_for("document.readyState === 'complete' && document.getElementById('prompt') !== null", "the page")
    # Greedy, as the streamed reply above: a sampled reply may be empty (the model may end at once).
    js("document.getElementsByName('temperature')[0].value = '0'; true")
    type_into("#prompt", "The end")
    click("#send")
    wait_for("location.pathname === '/chat' && document.readyState === 'complete'"
             " && document.querySelectorAll('.msg').length >= 2", "the /chat page")
    result["texts"] = js("[...document.querySelectorAll('.msg .text')].map(e => e.textContent)")
    result["error"] = js("(document.getElementById('error') || {}).textContent || ''")
    call("Emulation.setScriptExecutionDisabled", value=False)
elif step == "reload":
    wait_for("document.querySelectorAll('.msg').length >= 2", "the history to show")
    result["texts"] = js("[...document.querySelectorAll('.msg .text')].map(e => e.textContent)")

shot = call("Page.captureScreenshot", format="png")
import base64
with open(out, "wb") as f:
    f.write(base64.b64decode(shot["data"]))
print(json.dumps(result))
EOF

t0=$(date +%s%N)
chat=$("$py" "$TEST_TMP/cdp.py" "$devtools_port" "http://127.0.0.1:$port/" chat "$TEST_TMP/web-page.png") ||
  fail "driving the page failed"
echo "page: $chat"
echo "browser part: $((($(date +%s%N) - t0) / 1000000)) ms"
python3 - "$chat" <<'EOF' || fail "bad page state: $chat"
import json, sys
r = json.loads(sys.argv[1])
assert r["messages_before_history"] == 0, "the page sent before the history had come"
assert r["user"] == "Once upon a time", r["user"]
assert r["reply"].strip(), "empty reply"
assert "tokens/s" in r["stats"] and "first token" in r["stats"], r["stats"]
# The reply came as server-sent events, a piece of text each (the page counts them), and
# the page grew as they came. (The bundled model writes ~3000 tokens/s: the browser may
# well get all events in one network read, so the DOM changes are not counted per token.)
assert r["pieces"] >= 3, f"only {r['pieces']} streamed pieces"
assert r["changes"] >= 2, f"only {r['changes']} DOM changes"
assert "exceeds the context size" in r["error"] and "HTTP 400" in r["error"], r["error"]
assert r["messages_after_error"] == 2, "the refused exchange stayed on the page"
# Run with -m 512m --cpus 1: the panel shows the container's own limits.
assert "512.0 MiB" in r["container"] and "1.00 CPUs" in r["container"], r["container"]
EOF
[[ $(head -c 8 "$TEST_TMP/web-page.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
  fail "the screenshot is not a PNG"
if [[ -n ${MINICTR_SCREENSHOT_OUT:-} ]]; then
  cp "$TEST_TMP/web-page.png" "$MINICTR_SCREENSHOT_OUT"
  echo "screenshot: $MINICTR_SCREENSHOT_OUT"
fi

# The exchange is in the volume, written as valid JSON.
reply=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["reply"])' "$chat")
python3 - "$data/chat_history.json" "$reply" <<'EOF' || fail "bad history file: $(cat "$data/chat_history.json")"
import json, sys
h = json.load(open(sys.argv[1]))
m = h["messages"]
assert [x["role"] for x in m] == ["user", "assistant"], m
assert m[0]["content"] == "Once upon a time" and m[1]["content"] == sys.argv[2], m
EOF

# stop/start: the server reloads the history from the volume and the page shows it again.
mctr stop "$id" >/dev/null
mctr start "$id" >/dev/null
wait_healthy
again=$("$py" "$TEST_TMP/cdp.py" "$devtools_port" "http://127.0.0.1:$port/" reload "$TEST_TMP/reload.png") ||
  fail "reloading the page failed"
python3 - "$again" "$reply" <<'EOF' || fail "history lost across stop/start: $again"
import json, sys
texts = json.loads(sys.argv[1])["texts"]
assert texts[:2] == ["Once upon a time", sys.argv[2]], texts
EOF

# rm + run with the same volume: a new container, the same history.
mctr rm -f "$id" >/dev/null
id=$(mctr run -d -p "$port:8080" -m 512m --cpus 1 -v "$data:/app/data" "$INFERENCE_TAR")
wait_healthy
history=$(curl -sf "http://127.0.0.1:$port/history") || fail "GET /history failed"
"$py" - "$history" "$reply" <<'EOF' || fail "history lost across rm + run: $history"
import json, sys
m = json.loads(sys.argv[1])["messages"]
assert [x["content"] for x in m] == ["Once upon a time", sys.argv[2]], m
EOF

# Without JavaScript the page still works: a form post, answered with a whole page.
nojs=$("$py" "$TEST_TMP/cdp.py" "$devtools_port" "http://127.0.0.1:$port/" nojs "$TEST_TMP/nojs.png") ||
  fail "the page without JavaScript failed"
"$py" - "$nojs" "$reply" <<'EOF' || fail "bad no-JS page: $nojs"
import json, sys
r = json.loads(sys.argv[1])
texts = r["texts"]
assert not r["error"], r["error"]
assert len(texts) == 4 and texts[:3] == ["Once upon a time", sys.argv[2], "The end"] and texts[3].strip(), texts
EOF
mctr rm -f "$id" >/dev/null
assert_eq 0 "$(mctr ps -a -q | wc -l)" "no containers left"
echo "PASS test_web_page"
