"""The animated .glb plays in three.js: the vendored GLTFLoader loads it in headless Chromium
(network cut off), an AnimationMixer poses it at three times of the timeline, and the frames
differ while both classes stay in sight (their materials' colours, drawn unlit)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pygltflib
import pytest

from layerlapse.app import api

VENDOR = Path(api.__file__).resolve().parents[1] / "web" / "vendor"

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {"three": "VENDOR/three.module.js",
  "UTILS/BufferGeometryUtils.js": "VENDOR/BufferGeometryUtils.js",
  "UTILS/SkeletonUtils.js": "VENDOR/SkeletonUtils.js"}}</script></head>
<body><pre id="result">pending</pre><script type="module">
import * as THREE from "three";
import { GLTFLoader } from "VENDOR/GLTFLoader.js";
const out = document.getElementById("result");
try {
  const gltf = await new GLTFLoader().loadAsync("GLB");
  const W = 320, H = 200;
  const renderer = new THREE.WebGLRenderer({ antialias: false, preserveDrawingBuffer: true });
  renderer.setSize(W, H);
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  document.body.appendChild(renderer.domElement);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(1, 1, 1);
  scene.add(gltf.scene);
  const colours = [];
  gltf.scene.traverse(o => { if (o.isMesh) {
    const basic = new THREE.MeshBasicMaterial({ color: o.material.color, side: THREE.DoubleSide });
    o.material = basic;
    if (!o.name.startsWith("grid") && !o.name.startsWith("guide")) colours.push(o.material.color.clone());
  } });
  const mixer = new THREE.AnimationMixer(gltf.scene);
  const clip = gltf.animations[0];
  const action = mixer.clipAction(clip);
  action.setLoop(THREE.LoopOnce, 1);
  action.clampWhenFinished = true;  // the last pose at the end, not the first again
  action.play();
  const box = new THREE.Box3();
  const camera = new THREE.PerspectiveCamera(35, W / H, 0.01, 1000);
  const gl = renderer.getContext();
  const counts = [], sums = [];
  for (const t of [0, clip.duration / 2, clip.duration]) {
    mixer.setTime(t);
    gltf.scene.updateMatrixWorld(true);
    box.setFromObject(gltf.scene, true);
    const c = box.getCenter(new THREE.Vector3()), r = box.getSize(new THREE.Vector3()).length() / 2;
    camera.position.set(c.x + 1.6 * r, c.y + 1.2 * r, c.z + 2.2 * r);
    camera.lookAt(c);
    renderer.render(scene, camera);
    const px = new Uint8Array(W * H * 4);
    gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, px);
    const hit = colours.map(col => {
      const s = col.clone().convertLinearToSRGB();
      const want = [s.r * 255, s.g * 255, s.b * 255];
      let n = 0;
      for (let i = 0; i < px.length; i += 4)
        if (Math.abs(px[i] - want[0]) < 12 && Math.abs(px[i + 1] - want[1]) < 12 && Math.abs(px[i + 2] - want[2]) < 12) n++;
      return n;
    });
    counts.push(hit);
    let sum = 0; for (let i = 0; i < px.length; i += 7) sum = (sum * 31 + px[i]) % 1000000007;
    sums.push(sum);
  }
  const targets = gltf.scene.children.map(o => (o.morphTargetInfluences || []).length);
  out.textContent = JSON.stringify({ duration: clip.duration, counts, sums, targets });
} catch (e) { out.textContent = "error: " + e; }
</script></body></html>
"""


def test_the_animated_glb_plays_in_three_js(chromium, tmp_path):
    made = api.export_animation("two-curves", tmp_path / "curves.glb", keyframes=4)
    page = tmp_path / "play.html"
    utils = (VENDOR.parent / "utils").as_uri()  # where GLTFLoader's '../utils/...' imports resolve
    page.write_text(PAGE.replace("VENDOR", VENDOR.as_uri()).replace("UTILS", utils).replace("GLB", made.path.as_uri()))
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
           "--enable-unsafe-swiftshader", "--allow-file-access-from-files", "--window-size=400,300",
           "--virtual-time-budget=20000", f"--user-data-dir={tmp_path / 'profile'}", "--no-first-run",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom", page.as_uri()]
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    text = found.group(1)
    assert not text.startswith(("error", "pending")), text + done.stderr[-2000:]
    result = json.loads(text)
    gltf = pygltflib.GLTF2().load(str(made.path))
    assert result["duration"] == pytest.approx(float(made.times[-1]), abs=1e-3)
    assert result["targets"] == [len(m.primitives[0].targets) for m in gltf.meshes]
    for counts in result["counts"]:  # both classes in sight at the start, the middle and the end
        assert len(counts) == 2 and min(counts) > 30, result["counts"]
    assert len(set(result["sums"])) == 3, result  # the three poses are three different pictures
