// Photos in the phone app: each photo taken or chosen is stamped (水印) with the time, the place
// and the grid, drawn into the image on a canvas; a JPEG keeps its camera's EXIF (the canvas
// drops it, so the original APP1 segment is spliced into the stamped file's bytes); every photo
// says whether it came from the camera or the album, and an upload carries the phone's position
// (the upload contract: repeated `photos`, one `origin` each, `device_lat`, `device_lng`,
// `device_accuracy`, `device_at` once per request).
(function () {
  "use strict";

  const { h } = FQ;
  const MAX_SIDE = 2560; // longer side after stamping: a phone's 12 MP photo stays under the size limit
  const QUALITY = 0.88;
  const FONT = '"PingFang SC", "Hiragino Sans GB", "Noto Sans CJK SC", "Source Han Sans SC", ' +
    '"WenQuanYi Micro Hei", "Microsoft YaHei", sans-serif';
  const CLOCK = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  function clock(date) {
    const p = Object.fromEntries(CLOCK.formatToParts(date).map((part) => [part.type, part.value]));
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" + p.second;
  }

  // An ISO time with the phone's own offset, e.g. 2026-05-01T09:30:00+08:00.
  function isoWithOffset(date) {
    const minutes = -date.getTimezoneOffset();
    const local = new Date(date.getTime() + minutes * 60000).toISOString().slice(0, 19);
    const abs = Math.abs(minutes);
    return local + (minutes >= 0 ? "+" : "-") + String(Math.floor(abs / 60)).padStart(2, "0") +
      ":" + String(abs % 60).padStart(2, "0");
  }

  // --- EXIF, byte by byte -------------------------------------------------------------------

  const isJpeg = (bytes) => bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;

  // The original JPEG's APP1 Exif segment (marker included), or null when it has none.
  function exifSegment(bytes) {
    if (!isJpeg(bytes)) return null;
    let i = 2;
    while (i + 4 <= bytes.length) {
      if (bytes[i] !== 0xff) return null;
      const marker = bytes[i + 1];
      if (marker === 0xff) { i += 1; continue; } // fill byte
      if (marker === 0xda || marker === 0xd9) return null; // the scan: no metadata after it
      const length = (bytes[i + 2] << 8) | bytes[i + 3];
      if (length < 2 || i + 2 + length > bytes.length) return null;
      if (marker === 0xe1 && length >= 16 && String.fromCharCode(...bytes.subarray(i + 4, i + 10)) === "Exif\0\0") {
        return bytes.slice(i, i + 2 + length);
      }
      i += 2 + length;
    }
    return null;
  }

  // The Exif segment made true of the stamped image: Orientation 1 (the canvas drew the pixels
  // upright already), the new pixel size, and no IFD1 thumbnail (it would show the photo unstamped).
  function adjustExif(segment, width, height) {
    const out = segment.slice();
    const base = 10; // FF E1, the length, "Exif\0\0": the TIFF header starts here
    const size = out.length - base;
    if (size < 8) return out;
    const view = new DataView(out.buffer, out.byteOffset + base, size);
    const little = view.getUint16(0) === 0x4949;
    if (!little && view.getUint16(0) !== 0x4d4d) return out;
    const u16 = (at) => view.getUint16(at, little);
    const u32 = (at) => view.getUint32(at, little);
    // Visit each 12-byte entry of the IFD at `at`; the offset of its next-IFD link, or null.
    function walk(at, visit) {
      if (at < 8 || at + 2 > size) return null;
      const end = at + 2 + u16(at) * 12;
      if (end + 4 > size) return null;
      for (let entry = at + 2; entry < end; entry += 12) visit(entry, u16(entry), u16(entry + 2));
      return end;
    }
    let exifIfd = 0;
    const link = walk(u32(4), (entry, tag, type) => {
      if (tag === 0x0112 && type === 3) view.setUint16(entry + 8, 1, little);
      if (tag === 0x8769) exifIfd = u32(entry + 8);
    });
    if (link !== null) view.setUint32(link, 0, little);
    walk(exifIfd, (entry, tag, type) => {
      const value = tag === 0xa002 ? width : tag === 0xa003 ? height : null;
      if (value === null) return;
      if (type === 3 && value < 65536) view.setUint16(entry + 8, value, little);
      if (type === 4) view.setUint32(entry + 8, value, little);
    });
    return out;
  }

  // The stamped JPEG with the original's Exif segment right after SOI (in place of the JFIF APP0
  // the canvas wrote); unchanged when the original has no Exif.
  function withExif(stamped, original, width, height) {
    const segment = exifSegment(original);
    if (!segment || !isJpeg(stamped)) return stamped;
    let rest = 2;
    if (stamped[2] === 0xff && stamped[3] === 0xe0 &&
        String.fromCharCode(...stamped.subarray(6, 10)) === "JFIF") {
      rest = 4 + ((stamped[4] << 8) | stamped[5]);
    }
    const exif = adjustExif(segment, width, height);
    const out = new Uint8Array(2 + exif.length + stamped.length - rest);
    out.set(stamped.subarray(0, 2), 0);
    out.set(exif, 2);
    out.set(stamped.subarray(rest), 2 + exif.length);
    return out;
  }

  // --- the stamp ----------------------------------------------------------------------------

  // The stamp's lines: how and when, the address when known, the coordinates, the grid.
  function stampLines(info) {
    const p = info.position;
    return [
      (info.origin === "album" ? "相册照片 · 选取于 " : "现场拍摄 · ") + clock(info.at),
      info.address ? "地址：" + info.address : null,
      "坐标：" + (p ? p.lat.toFixed(6) + "，" + p.lng.toFixed(6) + "（±" + Math.round(p.accuracy || 0) + " 米）"
        : "未获取定位"),
      "网格：" + (info.grid || "未知"),
    ].filter(Boolean);
  }

  // The longest start of `text` that fits in `width`, with an ellipsis when cut.
  function fit(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let cut = text;
    while (cut.length > 1 && ctx.measureText(cut + "…").width > width) cut = cut.slice(0, -1);
    return cut + "…";
  }

  // A dark band across the bottom with the lines in white: readable on any photo.
  function drawStamp(ctx, width, height, lines) {
    const size = Math.max(12, Math.min(56, Math.round(Math.min(width, height) / 26)));
    const lineHeight = Math.round(size * 1.35);
    const pad = Math.round(size * 0.6);
    const accent = Math.max(3, Math.round(size / 4));
    const band = lines.length * lineHeight + pad * 2;
    const top = height - band;
    ctx.fillStyle = "rgba(0, 0, 0, 0.62)";
    ctx.fillRect(0, top, width, band);
    ctx.fillStyle = "#c5221f";
    ctx.fillRect(0, top, accent, band);
    ctx.font = "600 " + size + "px " + FONT;
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#fff";
    lines.forEach((line, i) => {
      ctx.fillText(fit(ctx, line, width - accent - pad * 2), accent + pad, top + pad + lineHeight * (i + 0.5));
    });
  }

  function decode(file) {
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.src = url;
    return image.decode().then(() => image, () => null).finally(() => URL.revokeObjectURL(url));
  }

  // One photo stamped: {blob, origin, lines}. A file the browser cannot decode goes as it is
  // (the server says whether it takes it).
  async function stamp(file, info) {
    const image = await decode(file);
    if (!image || !image.naturalWidth) return { blob: file, origin: info.origin, lines: null };
    // The <img> applies the EXIF orientation, so the canvas gets the photo upright.
    const scale = Math.min(1, MAX_SIDE / Math.max(image.naturalWidth, image.naturalHeight));
    const width = Math.round(image.naturalWidth * scale);
    const height = Math.round(image.naturalHeight * scale);
    const canvas = h("canvas", { width: width, height: height });
    const ctx = canvas.getContext("2d");
    ctx.drawImage(image, 0, 0, width, height);
    const lines = stampLines(info);
    drawStamp(ctx, width, height, lines);
    const encoded = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    if (!encoded) return { blob: file, origin: info.origin, lines: null };
    const original = new Uint8Array(await file.arrayBuffer());
    const bytes = withExif(new Uint8Array(await encoded.arrayBuffer()), original, width, height);
    return { blob: new Blob([bytes], { type: "image/jpeg" }), origin: info.origin, lines: lines };
  }

  // --- the picker ---------------------------------------------------------------------------

  // The markup of a picker: 拍照 (the camera), 相册 (optional) and the thumbnails.
  function pickerNode(options) {
    const opts = options || {};
    return h("div", { class: "photo-picker" },
      h("label", { class: "photo-pick btn btn-secondary" + (opts.small ? " btn-small" : "") }, opts.cameraText || "拍照",
        h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", capture: "environment",
          multiple: true, hidden: true, dataset: { origin: "camera" } })),
      opts.album === false ? null : h("label", { class: "photo-pick btn btn-ghost" + (opts.small ? " btn-small" : "") }, "相册",
        h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true, hidden: true,
          dataset: { origin: "album" } })),
      h("div", { class: "thumbs" }));
  }

  // Wire a picker (its inputs name their origin in data-origin): each file chosen is stamped
  // with `context()` ({position, address, grid}) at that moment and shown with its stamp.
  function attach(root, context) {
    let photos = [];
    let pending = Promise.resolve();
    const thumbs = root.querySelector(".thumbs");

    function render() {
      FQ.fill(thumbs, ...photos.map((photo, index) => h("figure", { class: "thumb", dataset: { origin: photo.origin } },
        h("img", { src: photo.url, alt: photo.origin === "album" ? "相册照片" : "现场照片",
          dataset: { origin: photo.origin, stamp: (photo.lines || []).join("\n") } }),
        h("button", { type: "button", class: "thumb-remove", "aria-label": "移除照片", onclick: () => {
          URL.revokeObjectURL(photo.url);
          photos.splice(index, 1);
          render();
        } }, "×"))));
    }

    for (const input of root.querySelectorAll("input[type=file][data-origin]")) {
      input.addEventListener("change", () => {
        const files = Array.from(input.files || []);
        const origin = input.dataset.origin;
        input.value = ""; // the same photo may be chosen again
        const info = Object.assign({ origin: origin, at: new Date() }, context());
        pending = pending.then(async () => {
          for (const file of files) {
            const photo = await stamp(file, info);
            photo.url = URL.createObjectURL(photo.blob);
            photos.push(photo);
          }
          render();
          const form = root.closest("form");
          if (form) FQ.clearErrors(form); // "take a photo first" is answered
        });
      });
    }
    return {
      // The photos once every stamp is drawn: [{blob, origin, lines}].
      ready: () => pending.then(() => photos.map(({ blob, origin, lines }) => ({ blob, origin, lines }))),
      count: () => photos.length,
      clear: () => {
        photos.forEach((photo) => URL.revokeObjectURL(photo.url));
        photos = [];
        render();
      },
    };
  }

  // --- the upload ---------------------------------------------------------------------------

  // The phone's position at upload, as the contract's fields (none without a fix).
  function device(position) {
    if (!position) return null;
    return { device_lat: position.lat, device_lng: position.lng,
      device_accuracy: Math.round((position.accuracy || 0) * 10) / 10,
      device_at: isoWithOffset(position.at instanceof Date ? position.at : new Date(position.at || Date.now())) };
  }

  // Photos (stamped ones, or bare blobs kept by an older queue) and the device fields into `body`.
  function append(body, photos, deviceFields) {
    const items = photos.map((p) => (p instanceof Blob ? { blob: p, origin: null } : p));
    items.forEach((p, i) => body.append("photos", p.blob, "photo-" + i + ".jpg"));
    if (items.every((p) => p.origin)) items.forEach((p) => body.append("origin", p.origin));
    for (const [key, value] of Object.entries(deviceFields || {})) body.append(key, String(value));
    return body;
  }

  // Upload photos of one kind to an event; the stored attachments.
  function upload(eventId, kind, photos, position) {
    const body = append(new FormData(), photos, device(position));
    return FQ.api("/events/" + eventId + "/attachments?kind=" + encodeURIComponent(kind), { method: "POST", body: body });
  }

  window.FQPhotos = { stamp, stampLines, exifSegment, withExif, pickerNode, attach, device, append, upload, isoWithOffset };
})();
