// MEDTalk Live preview page: draws the frames of /ws (the face from the server's 2-D shapes,
// the face board, intensity and emotion over the last 10 s) and sends the control port's
// messages (live) or asks for frames (playback of a written result).
// Test hook: window.preview = {messages, hold, show(message), hello, sent}.
"use strict";

const EMOTION_COLOURS = {angry: "#d9403a", disgust: "#7a9a2e", fear: "#8a5cc2", happy: "#f2b632",
  neutral: "#9aa5b1", sad: "#3d7cc9", surprise: "#e07bc0"};
const PLOT_SECONDS = 10;
const KEEP_MESSAGES = 1200;
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const preview = {messages: [], hold: false, hello: null, sent: [], show: draw};
window.preview = preview;

let ws = null;
let faceNodes = [];
let boardNodes = [];
let history = [];
let scaleShown = false;

function connect() {
  ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onopen = () => setStatus("connected", false);
  ws.onclose = () => {
    setStatus("disconnected: retrying…", true);
    setTimeout(connect, 1000);
  };
  ws.onmessage = (event) => receive(JSON.parse(event.data));
}

function setStatus(text, bad) {
  $("status").textContent = text;
  $("status").classList.toggle("bad", bad);
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) {
    ws.send(JSON.stringify(message));
    preview.sent.push(message);
    if (preview.sent.length > 100) preview.sent.shift();
  }
}

function receive(message) {
  if (message.type === "hello") {
    setUp(message);
  } else if (message.type === "frame") {
    preview.messages.push(message);
    if (preview.messages.length > KEEP_MESSAGES) preview.messages.shift();
    if (playback.active) playback.arrived(message);
    if (!preview.hold) draw(message);
  }
}

// -- set-up from the hello message
function setUp(hello) {
  preview.hello = hello;
  history = [];
  scaleShown = false;
  $("mode").textContent = hello.mode === "live" ? "live stream" : "playback";
  $("title").textContent = hello.title || "";
  buildBoard(hello);
  buildLegend();
  $("live-controls").hidden = hello.mode !== "live";
  $("playback-controls").hidden = hello.mode !== "playback";
  if (hello.mode === "live") buildLiveControls(hello);
  else playback.start(hello);
}

function shortName(name) {
  const axis = name.endsWith("-translateX") ? " X" : "";
  return name.replace(/^CTRL_/, "").replace(/-translate[XY]$/, "") + axis;
}

function buildBoard(hello) {
  const board = $("board");
  board.textContent = "";
  boardNodes = new Array(hello.names.length);
  for (const {group, controls} of hello.groups) {
    const box = document.createElement("div");
    box.className = "group";
    box.dataset.group = group;
    const title = document.createElement("h2");
    title.textContent = `${group} (${controls.length})`;
    box.append(title);
    for (const i of controls) {
      const [lo, hi] = hello.ranges[i];
      const row = document.createElement("div");
      row.className = "ctl";
      row.title = hello.names[i];
      row.dataset.control = hello.names[i];
      row.innerHTML = '<span class="name"></span><span class="bar"><span class="zero"></span>' +
        '<span class="fill"></span></span><span class="val">0.00</span>';
      row.querySelector(".name").textContent = shortName(hello.names[i]);
      const zero = (0 - lo) / (hi - lo);
      row.querySelector(".zero").style.left = `${100 * zero}%`;
      box.append(row);
      boardNodes[i] = {fill: row.querySelector(".fill"), val: row.querySelector(".val"), lo, hi,
        zero};
    }
    board.append(box);
  }
}

function buildLegend() {
  const legend = $("legend");
  legend.innerHTML = '<b style="color:#1d2329">— intensity</b>';
  for (const [name, colour] of Object.entries(EMOTION_COLOURS)) {
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    legend.append(swatch, name);
  }
}

function buildLiveControls(hello) {
  const box = $("emotions");
  box.textContent = "";
  for (const label of hello.emotions) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.dataset.emotion = label;
    button.disabled = !hello.control;
    button.onclick = () => send({type: "control", address: "/medtalk/emotion", args: [label]});
    box.append(button);
  }
  $("scale").disabled = $("blink").disabled = !hello.control;
  $("scale").oninput = () => {
    const scale = parseFloat($("scale").value);
    $("scale-value").textContent = scale.toFixed(2);
    send({type: "control", address: "/medtalk/intensity", args: [scale]});
  };
  $("blink").onclick = () => send({type: "control", address: "/medtalk/blink", args: [2]});
  if (!hello.control) setStatus("connected (no control port: buttons off)", false);
}

// -- drawing one frame
function draw(message) {
  drawFace(message.face);
  if (!scaleShown && message.state.intensity_scale !== undefined) {  // the stream's at start
    scaleShown = true;
    $("scale").value = message.state.intensity_scale;
    $("scale-value").textContent = message.state.intensity_scale.toFixed(2);
  }
  $("frame").textContent = message.frame;
  $("time").textContent = message.t.toFixed(2);
  $("emotion").textContent = message.emotion ?? "–";
  $("intensity").textContent = message.intensity.toFixed(3);
  for (const button of document.querySelectorAll("#emotions button")) {
    button.classList.toggle("active", button.dataset.emotion === message.emotion);
  }
  drawBoard(message.values);
  record(message);
  drawPlot(message.t);
  $("words").textContent = message.transcript || "";
}

function drawFace(shapes) {
  const svg = $("face");
  if (faceNodes.length !== shapes.length) {
    svg.textContent = "";
    faceNodes = shapes.map((shape) => {
      const node = document.createElementNS(SVG_NS, shape.closed ? "polygon" : "polyline");
      node.dataset.name = shape.name;
      node.setAttribute("stroke-linejoin", "round");
      node.setAttribute("stroke-linecap", "round");
      svg.append(node);
      return node;
    });
  }
  shapes.forEach((shape, i) => {
    const node = faceNodes[i];
    node.setAttribute("points", shape.points.map((p) => `${p[0]},${p[1]}`).join(" "));
    node.setAttribute("fill", shape.fill ?? "none");
    node.setAttribute("stroke", shape.stroke ?? "none");
    node.setAttribute("stroke-width", shape.width);
  });
}

function drawBoard(values) {
  values.forEach((v, i) => {
    const node = boardNodes[i];
    if (!node) return;
    const at = (Math.min(node.hi, Math.max(node.lo, v)) - node.lo) / (node.hi - node.lo);
    node.fill.style.left = `${100 * Math.min(at, node.zero)}%`;
    node.fill.style.width = `${100 * Math.abs(at - node.zero)}%`;
    node.val.textContent = v.toFixed(2);
  });
}

function record(message) {
  const last = history[history.length - 1];
  if (last && message.t < last.t) history = [];  // a seek back or a new stream
  history.push({t: message.t, intensity: message.intensity, emotion: message.emotion});
  while (history.length && history[0].t < message.t - PLOT_SECONDS) history.shift();
}

function drawPlot(now) {
  const canvas = $("plot");
  const g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, strip = 12, top = 6;
  g.clearRect(0, 0, w, h);
  const x = (t) => w * (1 - (now - t) / PLOT_SECONDS);
  const peak = Math.max(0.5, ...history.map((p) => p.intensity)) * 1.1;
  const y = (v) => h - strip - 2 - (h - strip - 2 - top) * Math.max(0, v) / peak;
  g.strokeStyle = "#e6eaee";
  g.fillStyle = "#8895a2";
  g.font = "9px sans-serif";
  for (let s = 0; s <= PLOT_SECONDS; s += 2) {
    const gx = w * s / PLOT_SECONDS;
    g.beginPath(); g.moveTo(gx, top); g.lineTo(gx, h - strip); g.stroke();
  }
  g.fillText(peak.toFixed(2), 2, top + 8);
  history.forEach((p, i) => {
    const next = history[i + 1];
    g.fillStyle = EMOTION_COLOURS[p.emotion] ?? "#c5ccd3";
    g.fillRect(x(p.t), h - strip, Math.max(1, next ? x(next.t) - x(p.t) + 0.5 : 2), strip);
  });
  g.strokeStyle = "#1d2329";
  g.lineWidth = 1.5;
  g.beginPath();
  history.forEach((p, i) => (i ? g.lineTo(x(p.t), y(p.intensity)) : g.moveTo(x(p.t), y(p.intensity))));
  g.stroke();
}

// -- playback of a written result: the page's clock (the audio's, if any) picks the frame
const playback = {
  active: false, frames: 0, fps: 60, playing: false, asked: -1, waiting: false,
  clock0: 0, pos0: 0, audio: null, looping: false, dragging: false, pending: false,

  start(hello) {
    this.active = true;
    this.frames = hello.frames;
    this.fps = hello.fps;
    this.asked = -1;
    this.waiting = false;
    $("scrub").max = Math.max(0, this.frames - 1);
    this.audio = hello.audio ? $("audio") : null;
    if (this.audio) {
      this.audio.src = "/audio";
      this.audio.onended = () => this.setPlaying(false);
    }
    $("play").onclick = () => this.setPlaying(!this.playing);
    $("scrub").oninput = () => this.seek(parseInt($("scrub").value, 10) / this.fps);
    $("scrub").onpointerdown = () => { this.dragging = true; };
    $("scrub").onpointerup = () => { this.dragging = false; };
    this.setPlaying(true);
    if (!this.looping) {
      this.looping = true;
      requestAnimationFrame(() => this.tick());
    }
  },

  time() {
    if (this.audio) return this.audio.currentTime;
    return this.playing ? this.pos0 + (performance.now() - this.clock0) / 1000 : this.pos0;
  },

  setPlaying(on) {
    if (this.audio && on) {  // playing once the audio plays (a refused autoplay: press play)
      this.pending = true;
      this.audio.play().then(() => this.shown(true), () => this.shown(false));
      return;
    }
    if (this.audio) {
      this.audio.pause();
    } else {
      this.pos0 = this.time();
      if (on && this.pos0 >= (this.frames - 1) / this.fps) this.pos0 = 0;
      this.clock0 = performance.now();
    }
    this.shown(on);
  },

  shown(on) {
    this.pending = false;
    this.playing = on;
    $("play").textContent = on ? "pause" : "play";
  },

  seek(seconds) {
    if (this.audio) this.audio.currentTime = seconds;
    this.pos0 = seconds;
    this.clock0 = performance.now();
  },

  tick() {
    const t = this.time();
    if (!this.audio && this.playing && t >= this.frames / this.fps) this.setPlaying(false);
    const frame = Math.max(0, Math.min(this.frames - 1, Math.floor(t * this.fps)));
    if (frame !== this.asked && !this.waiting) {
      this.asked = frame;
      this.waiting = true;
      send({type: "get", frame});
    }
    requestAnimationFrame(() => this.tick());
  },

  arrived(message) {
    this.waiting = false;
    if (!this.dragging) $("scrub").value = message.frame;
    $("scrub-time").textContent = `${message.t.toFixed(2)} s`;
  },
};

connect();
