// MCU web client: joins a room with one POST (SDP offer in, SDP answer out),
// sends the microphone and camera, shows the room's composite with its mix
// (one MediaStream, so the browser lip-syncs them) and meters what it hears.
// room.js adds the participant list, screen sharing, device and layout
// pickers and the room link.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { pc: null, location: null, room: null, me: null, mic: null, cam: null, videoSender: null, audioSender: null, screenTx: null,
  audioCtx: null, timer: null, metered: false, restarting: false, lostTimer: null };
// Exposed for automated checks: the latest inbound statistics.
window.mcuStats = { connected: false, packetsReceived: 0, audioLevel: 0, meter: 0, framesDecoded: 0, frameWidth: 0, frameHeight: 0 };

// mcuSample returns the [r, g, b] of the composite at (x, y) in video pixels.
window.mcuSample = (x, y) => {
  const v = $("remote");
  if (!v.videoWidth) return null;
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  return Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3));
};

function setStatus(text) { $("status").textContent = text; }

// The join token, if the page was opened with ?token=: every request to the
// server carries it as a bearer token (the server checks it before
// anything else). The address bar keeps it out of sight once read.
const token = new URLSearchParams(location.search).get("token");
if (token) {
  const u = new URL(location.href);
  u.searchParams.delete("token");
  history.replaceState(null, "", u);
}
function authHeaders(h = {}) { return token ? { ...h, Authorization: "Bearer " + token } : h; }

async function iceServers() {
  try {
    const r = await fetch("/config", { headers: authHeaders() });
    if (r.ok) return (await r.json()).iceServers || [];
  } catch (e) { /* fall through: no ICE servers */ }
  return [];
}

// ?relay=udp, tcp or tls (any other value: all) sends the media through
// the TURN servers /config names, over that transport alone: a way to
// check a TURN set-up from a browser.
const relay = new URLSearchParams(location.search).get("relay");
function iceConfig(servers) {
  if (!relay) return { iceServers: servers };
  const transport = (u) => u.startsWith("turns:") ? "tls" : /[?&]transport=tcp/.test(u) ? "tcp" : "udp";
  const wanted = (u) => /^turns?:/.test(u) && (!["udp", "tcp", "tls"].includes(relay) || transport(u) === relay);
  const turn = servers.map((s) => ({ ...s, urls: [].concat(s.urls).filter(wanted) })).filter((s) => s.urls.length);
  return { iceServers: turn, iceTransportPolicy: "relay" };
}

// waitForGathering resolves once ICE gathering completes (the join API does
// not trickle candidates) or after a bound, with what was gathered so far.
function waitForGathering(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
    });
  });
}

async function join(ev) {
  ev.preventDefault();
  const room = $("room").value.trim();
  const name = $("name").value.trim();
  $("join").disabled = true;
  setStatus("Asking for the microphone…");
  try {
    state.audioCtx = new AudioContext();
    state.mic = await media({ audio: { echoCancellation: true, noiseSuppression: true } }, "microphone");
    state.cam = await media({ video: { width: 640, height: 360 } }, "camera");
    const pc = new RTCPeerConnection(iceConfig(await iceServers()));
    state.pc = pc;
    if (state.mic) {
      state.audioSender = pc.addTransceiver(state.mic.getAudioTracks()[0], { direction: "sendrecv", streams: [state.mic] }).sender;
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    const video = state.cam
      ? pc.addTransceiver(state.cam.getVideoTracks()[0], { direction: "sendrecv", streams: [state.cam] })
      : pc.addTransceiver("video", { direction: "recvonly" });
    state.videoSender = state.cam ? video.sender : null;
    preferCodec(video, new URLSearchParams(location.search).get("codec"));
    // The screen share's m-line, sending nothing until "Share screen"
    // puts getDisplayMedia's track on it (no renegotiation: the server
    // takes a second video track as the presentation).
    state.screenTx = pc.addTransceiver("video", { direction: "sendonly" });
    preferCodec(state.screenTx, new URLSearchParams(location.search).get("codec"));
    pc.ontrack = (e) => attachRemote(e.streams[0] || new MediaStream([e.track]));
    pc.onconnectionstatechange = () => {
      setStatus("Connection: " + pc.connectionState);
      showConnection(pc);
      window.mcuStats.connected = pc.connectionState === "connected";
    };
    pc.oniceconnectionstatechange = () => {
      showConnection(pc);
      clearTimeout(state.lostTimer);
      if (pc.iceConnectionState === "failed") restartIce("connection failed");
      // Disconnected may mend by itself; if it lasts, the path is gone.
      if (pc.iceConnectionState === "disconnected") {
        state.lostTimer = setTimeout(() => { if (pc.iceConnectionState === "disconnected") restartIce("connection lost"); }, 2000);
      }
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc, 3000);
    setStatus("Joining " + room + "…");
    const url = "/rooms/" + encodeURIComponent(room) + "/join" + (name ? "?name=" + encodeURIComponent(name) : "");
    const res = await fetch(url, { method: "POST", headers: authHeaders({ "Content-Type": "application/sdp" }), body: pc.localDescription.sdp });
    const body = await res.text();
    if (res.status !== 201) throw new Error(body.trim() || res.statusText);
    state.location = res.headers.get("Location");
    state.room = room;
    state.me = decodeURIComponent(state.location.split("/").pop());
    await pc.setRemoteDescription({ type: "answer", sdp: body });
    enterRoom(room);
    $("call").hidden = false;
    $("leave").disabled = false;
    $("mute").disabled = !state.mic;
    $("camera").disabled = !state.cam;
    state.timer = setInterval(pollStats, 250);
  } catch (e) {
    setStatus("Could not join: " + e.message);
    await leave();
  }
}

// restartIce renews the ICE session without rejoining, after the network
// changed or the connection broke: an offer with new ICE credentials,
// whose fragment goes to our Location in a PATCH (If-Match: *, RFC 9725),
// and the server's new credentials and candidates in its answer. It
// resolves to whether the restart went through.
async function restartIce(why) {
  const pc = state.pc;
  if (!pc || !state.location || state.restarting) return false;
  state.restarting = true;
  showConnection(pc);
  setStatus("Reconnecting (" + why + ")…");
  try {
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    await waitForGathering(pc, 3000);
    const res = await fetch(state.location, { method: "PATCH", body: iceFragment(pc.localDescription.sdp),
      headers: authHeaders({ "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" }) });
    const body = await res.text();
    if (res.status === 404) {
      await leave();
      setStatus("The server ended the call: " + body.trim());
      return false;
    }
    if (res.status !== 200) throw new Error(body.trim() || res.statusText);
    if (state.pc !== pc) return false;
    await pc.setRemoteDescription({ type: "answer", sdp: withFragment(pc.remoteDescription.sdp, body) });
    setStatus("Connection: " + pc.connectionState);
    return true;
  } catch (e) {
    if (pc.signalingState === "have-local-offer") await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
    if (pc.connectionState === "failed") {
      await leave();
      setStatus("Connection lost: " + e.message);
    } else {
      setStatus("Could not reconnect (" + e.message + "); retrying when the network changes");
    }
    return false;
  } finally {
    state.restarting = false;
    showConnection(pc);
  }
}

// showConnection shows the connection's state, and the reconnecting
// notice while ICE restarts or the path is lost.
function showConnection(pc) {
  const s = pc.connectionState;
  $("conn").textContent = s;
  $("conn").className = "badge " + s;
  $("reconnecting").hidden = !(state.restarting || pc.iceConnectionState === "disconnected" || s === "disconnected");
}
window.mcuRestartIce = restartIce; // for automated checks

// iceFragment is our description's trickle-ice-sdpfrag: its ICE
// credentials and the first (bundled) m-section's candidates.
function iceFragment(sdp) {
  const lines = sdp.split("\r\n");
  const first = sdp.split(/\r\n(?=m=)/)[1].split("\r\n");
  const frag = [lines.find((l) => l.startsWith("a=ice-ufrag:")), lines.find((l) => l.startsWith("a=ice-pwd:")),
    "m=" + first[0].slice(2).split(" ")[0] + " 9 UDP/TLS/RTP/SAVPF 0"];
  return frag.concat(first.filter((l) => l.startsWith("a=mid:") || l.startsWith("a=candidate:") || l === "a=end-of-candidates")).join("\r\n") + "\r\n";
}

// withFragment returns the description sdp with the fragment's ICE
// credentials and candidates in place of its own.
function withFragment(sdp, frag) {
  const f = frag.split(/\r?\n/);
  const ufrag = f.find((l) => l.startsWith("a=ice-ufrag:"));
  const pwd = f.find((l) => l.startsWith("a=ice-pwd:"));
  if (!ufrag || !pwd) throw new Error("the server's answer has no ICE credentials");
  const isCandidate = (l) => l.startsWith("a=candidate:") || l === "a=end-of-candidates";
  const candidates = f.filter(isCandidate);
  return sdp.replace(/\r\n$/, "").split(/\r\n(?=m=)/).map((section, i) => {
    const lines = section.split("\r\n").filter((l) => !isCandidate(l))
      .map((l) => (l.startsWith("a=ice-ufrag:") ? ufrag : l.startsWith("a=ice-pwd:") ? pwd : l));
    return (i === 0 ? lines : lines.concat(candidates)).join("\r\n");
  }).join("\r\n") + "\r\n";
}

// preferCodec puts one video codec (e.g. ?codec=h264) first in the offer,
// so the server picks it when the room allows it.
function preferCodec(transceiver, name) {
  if (!name || !transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
  const want = "video/" + name.toLowerCase();
  const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
  const first = codecs.filter((c) => c.mimeType.toLowerCase() === want);
  if (first.length) transceiver.setCodecPreferences(first.concat(codecs.filter((c) => c.mimeType.toLowerCase() !== want)));
}

// media asks for one kind of device; null (and a status line) if refused.
async function media(constraints, what) {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (e) {
    setStatus("No " + what + " (" + e.name + "): joining without it…");
    return null;
  }
}

function attachRemote(stream) {
  // Audio and video arrive in one stream (the server groups them), so the
  // element plays them in sync; it may fire once per track.
  const el = $("remote");
  if (el.srcObject !== stream) {
    el.srcObject = stream;
    el.play().catch(() => {});
  }
  if (state.metered || stream.getAudioTracks().length === 0) return;
  state.metered = true;
  // Meter what we hear: an analyser on the mix (Chrome needs the stream
  // attached to a media element as well for WebAudio to receive it).
  const src = state.audioCtx.createMediaStreamSource(new MediaStream(stream.getAudioTracks()));
  const analyser = state.audioCtx.createAnalyser();
  analyser.fftSize = 1024;
  src.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  const draw = () => {
    if (!state.pc) return;
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const x of buf) sum += x * x;
    const rms = Math.sqrt(sum / buf.length);
    const db = 20 * Math.log10(rms + 1e-9);          // dBFS
    const pct = Math.max(0, Math.min(100, (db + 60) * (100 / 60)));
    window.mcuStats.meter = pct;
    $("meter-fill").style.width = pct + "%";
    $("meter-fill").parentElement.setAttribute("aria-valuenow", String(Math.round(pct)));
    requestAnimationFrame(draw);
  };
  state.audioCtx.resume().catch(() => {});
  requestAnimationFrame(draw);
}

async function pollStats() {
  if (!state.pc) return;
  const report = await state.pc.getStats();
  const st = window.mcuStats;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) {
      // How the media flows: host, srflx or relay (and over what to the relay).
      const pair = report.get(s.selectedCandidatePairId);
      const local = pair && report.get(pair.localCandidateId);
      if (local) { st.candidateType = local.candidateType; st.relayProtocol = local.relayProtocol || ""; }
    }
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "audio") {
      st.packetsReceived = s.packetsReceived || 0;
      st.audioLevel = s.audioLevel || 0;
      st.audioLost = s.packetsLost || 0;
      st.jitterMs = (s.jitter || 0) * 1000;
    } else if (s.kind === "video") {
      const c = s.codecId && report.get(s.codecId);
      st.videoCodec = c ? c.mimeType : "";
      st.framesDecoded = s.framesDecoded || 0;
      st.frameWidth = s.frameWidth || 0;
      st.frameHeight = s.frameHeight || 0;
      st.fps = s.framesPerSecond || 0;
    }
  });
  $("stats").textContent = "audio: " + st.packetsReceived + " packets, level " + st.audioLevel.toFixed(3) +
    ", jitter " + (st.jitterMs || 0).toFixed(1) + " ms, lost " + (st.audioLost || 0) +
    " · video: " + (st.videoCodec || "") + " " + st.frameWidth + "×" + st.frameHeight + " @ " + (st.fps || 0) + " fps, " + st.framesDecoded + " frames";
}

// toggleCamera stops or resumes sending the camera; the room shows our
// name in place of the picture while it is off.
async function toggleCamera() {
  if (!state.cam || !state.videoSender) return;
  const off = state.videoSender.track !== null;
  await state.videoSender.replaceTrack(off ? null : state.cam.getVideoTracks()[0]);
  $("camera").setAttribute("aria-pressed", String(off));
  $("camera").textContent = off ? "Camera on" : "Camera off";
  tellRoom({ video: off });
}

// toggleMute stops or resumes the microphone; the room marks us muted.
function toggleMute() {
  if (!state.mic) return;
  const track = state.mic.getAudioTracks()[0];
  track.enabled = !track.enabled;
  $("mute").setAttribute("aria-pressed", String(!track.enabled));
  $("mute").textContent = track.enabled ? "Mute" : "Unmute";
  tellRoom({ audio: !track.enabled });
}

// tellRoom tells the room what we muted, so every canvas and list shows it.
function tellRoom(change) {
  if (!state.location) return;
  fetch(state.location + "/mute", { method: "POST", headers: authHeaders({ "Content-Type": "application/json" }), body: JSON.stringify(change) })
    .catch(() => {});
}

async function leave() {
  leaveRoom();
  clearInterval(state.timer);
  clearTimeout(state.lostTimer);
  if (state.location) {
    fetch(state.location, { method: "DELETE", headers: authHeaders() }).catch(() => {});
    state.location = null;
  }
  if (state.pc) { state.pc.close(); state.pc = null; }
  if (state.mic) { state.mic.getTracks().forEach((t) => t.stop()); state.mic = null; }
  if (state.cam) { state.cam.getTracks().forEach((t) => t.stop()); state.cam = null; }
  state.videoSender = state.audioSender = state.screenTx = null;
  state.room = state.me = null;
  state.metered = false;
  $("remote").srcObject = null;
  $("camera").setAttribute("aria-pressed", "false");
  $("camera").textContent = "Camera off";
  if (state.audioCtx) { state.audioCtx.close().catch(() => {}); state.audioCtx = null; }
  window.mcuStats.connected = false;
  $("call").hidden = true;
  $("join").disabled = false;
  $("leave").disabled = true;
  $("mute").setAttribute("aria-pressed", "false");
  $("mute").textContent = "Mute";
  $("meter-fill").style.width = "0";
}

$("join-form").addEventListener("submit", join);
$("leave").addEventListener("click", () => { leave(); setStatus("Left the room."); });
$("mute").addEventListener("click", toggleMute);
$("camera").addEventListener("click", toggleCamera);
// A new network (Wi-Fi to mobile, say) breaks the call's path: restart ICE
// at once rather than after it times out.
window.addEventListener("online", () => restartIce("network changed"));
if (navigator.connection) navigator.connection.addEventListener("change", () => restartIce("network changed"));
// Leave promptly when the tab closes instead of waiting for ICE to time out.
window.addEventListener("pagehide", () => { if (state.location) fetch(state.location, { method: "DELETE", headers: authHeaders(), keepalive: true }); });
