// MCU web client: joins a room with one POST (SDP offer in, SDP answer out),
// sends the microphone, plays the room's mix and meters what it hears.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { pc: null, location: null, mic: null, audioCtx: null, timer: null };
// Exposed for automated checks: the latest inbound audio statistics.
window.mcuStats = { connected: false, packetsReceived: 0, audioLevel: 0, meter: 0 };

function setStatus(text) { $("status").textContent = text; }

async function iceServers() {
  try {
    const r = await fetch("/config");
    if (r.ok) return (await r.json()).iceServers || [];
  } catch (e) { /* fall through: no ICE servers */ }
  return [];
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
    try {
      state.mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (e) {
      state.mic = null;
      setStatus("No microphone (" + e.name + "): joining to listen only…");
    }
    const pc = new RTCPeerConnection({ iceServers: await iceServers() });
    state.pc = pc;
    if (state.mic) {
      pc.addTransceiver(state.mic.getAudioTracks()[0], { direction: "sendrecv", streams: [state.mic] });
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.ontrack = (e) => attachRemote(e.streams[0] || new MediaStream([e.track]));
    pc.onconnectionstatechange = () => {
      setStatus("Connection: " + pc.connectionState);
      window.mcuStats.connected = pc.connectionState === "connected";
      if (pc.connectionState === "failed") leave();
    };
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc, 3000);
    setStatus("Joining " + room + "…");
    const url = "/rooms/" + encodeURIComponent(room) + "/join" + (name ? "?name=" + encodeURIComponent(name) : "");
    const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp });
    const body = await res.text();
    if (res.status !== 201) throw new Error(body.trim() || res.statusText);
    state.location = res.headers.get("Location");
    await pc.setRemoteDescription({ type: "answer", sdp: body });
    $("call").hidden = false;
    $("leave").disabled = false;
    $("mute").disabled = !state.mic;
    state.timer = setInterval(pollStats, 250);
  } catch (e) {
    setStatus("Could not join: " + e.message);
    await leave();
  }
}

function attachRemote(stream) {
  const audio = $("remote");
  audio.srcObject = stream;
  audio.play().catch(() => {});
  // Meter what we hear: an analyser on the mix (Chrome needs the stream
  // attached to a media element as well for WebAudio to receive it).
  const src = state.audioCtx.createMediaStreamSource(stream);
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
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      window.mcuStats.packetsReceived = s.packetsReceived || 0;
      window.mcuStats.audioLevel = s.audioLevel || 0;
      $("stats").textContent = "received " + s.packetsReceived + " packets, level " + (s.audioLevel || 0).toFixed(3) +
        ", jitter " + ((s.jitter || 0) * 1000).toFixed(1) + " ms, lost " + (s.packetsLost || 0);
    }
  });
}

function toggleMute() {
  if (!state.mic) return;
  const track = state.mic.getAudioTracks()[0];
  track.enabled = !track.enabled;
  $("mute").setAttribute("aria-pressed", String(!track.enabled));
  $("mute").textContent = track.enabled ? "Mute" : "Unmute";
}

async function leave() {
  clearInterval(state.timer);
  if (state.location) {
    fetch(state.location, { method: "DELETE" }).catch(() => {});
    state.location = null;
  }
  if (state.pc) { state.pc.close(); state.pc = null; }
  if (state.mic) { state.mic.getTracks().forEach((t) => t.stop()); state.mic = null; }
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
// Leave promptly when the tab closes instead of waiting for ICE to time out.
window.addEventListener("pagehide", () => { if (state.location) fetch(state.location, { method: "DELETE", keepalive: true }); });
