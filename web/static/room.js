// Room features of the page (app.js joins and carries the media): the
// participant list fed by the room's event stream, screen sharing,
// microphone and camera pickers, the layout picker for admins and the
// room link.
"use strict";

const roomState = { people: new Map(), abort: null, screen: null, layout: "", presentation: "" };
// For automated checks: the participant list as shown.
window.mcuParticipants = () => [...roomState.people.values()];
window.mcuLayout = () => roomState.layout;

// tokenClaims reads the page's token's claims (not verified here: the
// server checks every request; this only decides what to show).
function tokenClaims() {
  if (!token) return null;
  try {
    return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch (e) {
    return null;
  }
}

// isAdmin: the token grants admin, or there is none (a server without
// auth lets everyone choose the layout).
function isAdmin() {
  const c = tokenClaims();
  return !token || !!(c && c.grants && c.grants.admin);
}

// enterRoom starts what the page shows of the room once joined.
function enterRoom(room) {
  const link = new URL("/", location.origin);
  link.searchParams.set("room", room);
  $("room-link").value = link.href;
  $("layout-picker").hidden = !isAdmin();
  $("share").disabled = !navigator.mediaDevices.getDisplayMedia;
  listDevices();
  followEvents(room);
}

// leaveRoom stops it all.
function leaveRoom() {
  if (roomState.abort) roomState.abort.abort();
  roomState.abort = null;
  stopShare();
  roomState.people.clear();
  renderPeople();
}

// followEvents reads the room's server-sent events (a fetch, so the token
// goes in the Authorization header as on every other request), and starts
// again, from a fresh snapshot, whenever the stream breaks.
async function followEvents(room) {
  const ctl = new AbortController();
  roomState.abort = ctl;
  while (!ctl.signal.aborted) {
    try {
      const res = await fetch("/rooms/" + encodeURIComponent(room) + "/events", { headers: authHeaders({ Accept: "text/event-stream" }), signal: ctl.signal });
      if (res.status === 401 || res.status === 403) {
        setStatus("No participant list: " + (await res.text()).trim());
        return;
      }
      if (res.ok) await readEvents(res.body.getReader(), onEvent);
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// readEvents parses a text/event-stream body, calling on(name, data) for
// each event.
async function readEvents(reader, on) {
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) on(name, JSON.parse(data));
    }
  }
}

// onEvent applies one room event to the list.
function onEvent(name, ev) {
  switch (name) {
    case "snapshot":
      roomState.people.clear();
      for (const p of ev.participants) roomState.people.set(p.id, p);
      roomState.layout = ev.layout;
      $("layout").value = ev.layout;
      break;
    case "left":
      roomState.people.delete(ev.participant);
      break;
    case "layout-changed":
      if (ev.layout) {
        roomState.layout = ev.layout;
        $("layout").value = ev.layout;
      }
      break;
    case "presentation-started":
    case "presentation-stopped":
      // Which share is shown may have changed for everyone.
      for (const p of roomState.people.values()) p.presentationShown = false;
      break;
  }
  if (ev.state) roomState.people.set(ev.state.id, ev.state);
  renderPeople();
}

// renderPeople draws the participant list: names, who talks, who is
// muted, who shares (and whose share is shown).
function renderPeople() {
  const ul = $("people");
  ul.textContent = "";
  for (const p of roomState.people.values()) {
    const li = document.createElement("li");
    li.dataset.id = p.id;
    li.classList.toggle("talking", p.talking);
    li.classList.toggle("me", p.id === state.me);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = (p.name || "(no name)") + (p.id === state.me ? " (you)" : "");
    li.append(name);
    const tag = (cls, text) => {
      const t = document.createElement("span");
      t.className = "tag " + cls;
      t.textContent = text;
      li.append(t);
    };
    if (p.talking) tag("talking", "talking");
    if (p.muted) tag("muted", "muted");
    if (p.videoMuted) tag("camera-off", "camera off");
    if (p.sharing) tag("sharing", p.presentationShown ? "sharing (shown)" : "sharing");
    ul.append(li);
  }
  $("people-count").textContent = "(" + roomState.people.size + ")";
}

// toggleShare starts or stops sharing the screen: getDisplayMedia's track
// goes on the screen m-line the offer already has.
async function toggleShare() {
  if (roomState.screen) {
    stopShare();
    return;
  }
  if (!state.screenTx) return;
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { width: 1920, height: 1080, frameRate: 15 }, audio: false });
    const track = stream.getVideoTracks()[0];
    track.contentHint = "detail"; // text stays sharp rather than smooth
    track.addEventListener("ended", stopShare); // the browser's own "Stop sharing"
    await state.screenTx.sender.replaceTrack(track);
    roomState.screen = stream;
    $("share").setAttribute("aria-pressed", "true");
    $("share").textContent = "Stop sharing";
  } catch (e) {
    setStatus("Could not share the screen: " + e.message);
  }
}

// stopShare ends the share; the room returns to its layout once the
// share's track stays silent.
function stopShare() {
  if (!roomState.screen) return;
  roomState.screen.getTracks().forEach((t) => t.stop());
  roomState.screen = null;
  if (state.screenTx) state.screenTx.sender.replaceTrack(null).catch(() => {});
  $("share").setAttribute("aria-pressed", "false");
  $("share").textContent = "Share screen";
}

// listDevices fills the pickers with the microphones and cameras the page
// may use (labels are known once a device was granted).
async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [kind, sel, stream] of [["audioinput", "mic-select", state.mic], ["videoinput", "cam-select", state.cam]]) {
    const el = $(sel);
    el.textContent = "";
    const current = stream && stream.getTracks()[0].getSettings().deviceId;
    for (const d of devices.filter((d) => d.kind === kind)) {
      const o = new Option(d.label || kind, d.deviceId, false, d.deviceId === current);
      el.append(o);
    }
    el.disabled = !stream;
  }
}

// switchDevice sends another microphone or camera in place of the current
// one, on the same sender (no renegotiation).
async function switchDevice(kind) {
  const isMic = kind === "audio";
  const sender = isMic ? state.audioSender : state.videoSender;
  const old = isMic ? state.mic : state.cam;
  if (!sender || !old) return;
  const id = $(isMic ? "mic-select" : "cam-select").value;
  try {
    const constraints = isMic ? { audio: { deviceId: { exact: id }, echoCancellation: true, noiseSuppression: true } }
      : { video: { deviceId: { exact: id }, width: 640, height: 360 } };
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    const track = stream.getTracks()[0];
    if (isMic) track.enabled = old.getAudioTracks()[0].enabled; // a muted microphone stays muted
    if (sender.track !== null || isMic) await sender.replaceTrack(track);
    old.getTracks().forEach((t) => t.stop());
    if (isMic) state.mic = stream; else state.cam = stream;
  } catch (e) {
    setStatus("Could not switch " + (isMic ? "microphone" : "camera") + ": " + e.message);
  }
}

// chooseLayout sets the room's layout (admins only; the server checks).
async function chooseLayout() {
  const type = $("layout").value;
  const res = await fetch("/rooms/" + encodeURIComponent(state.room) + "/layout", { method: "PUT",
    headers: authHeaders({ "Content-Type": "application/json" }), body: JSON.stringify({ type }) });
  if (res.ok) roomState.layout = (await res.json()).type;
  else setStatus("Layout not changed: " + (await res.text()).trim());
}

async function copyLink() {
  const el = $("room-link");
  try {
    await navigator.clipboard.writeText(el.value);
    setStatus("Link copied.");
  } catch (e) {
    el.select(); // copy by hand
  }
}

$("share").addEventListener("click", toggleShare);
$("mic-select").addEventListener("change", () => switchDevice("audio"));
$("cam-select").addEventListener("change", () => switchDevice("video"));
$("layout").addEventListener("change", chooseLayout);
$("copy-link").addEventListener("click", copyLink);
// A link to a room (?room=, ?name=) fills the form.
for (const k of ["room", "name"]) {
  const v = new URLSearchParams(location.search).get(k);
  if (v) $(k).value = v;
}
