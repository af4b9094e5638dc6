// The report form of the phone pages (/m/report/ and /public/): position by geolocation or a pin on a
// vector map, photos kept in a list with thumbnails, category search, a draft that survives a network drop
// (fields in localStorage, photos in IndexedDB or as data URLs up to a limit) and submission with fetch().
// Without JavaScript the same form posts as plain multipart HTML.
(function () {
  "use strict";
  const form = document.querySelector("form[data-report-form]");
  if (!form) return;

  const msg = (name) => form.dataset["msg" + name] || "";
  const DRAFT_KEY = form.dataset.draftKey || "cityloop-draft";
  const PHOTO_GROUPS = ["photos", "after_photos"];
  const IDB_MAX_BYTES = 40 * 1024 * 1024; // photos kept in IndexedDB
  const LS_MAX_BYTES = 2 * 1024 * 1024; // photos kept as data URLs when IndexedDB is unavailable
  const statusBox = form.querySelector("[data-form-status]");
  const submitButton = form.querySelector("[data-submit]");
  const lonInput = form.querySelector("#id_lon");
  const latInput = form.querySelector("#id_lat");
  const locationStatus = form.querySelector("[data-location-status]");
  const photos = { photos: [], after_photos: [] }; // {file: Blob, name, type}
  let submitting = false;

  // --- status messages ------------------------------------------------------------------------
  function showStatus(text, kind) {
    statusBox.replaceChildren();
    if (!text) return;
    const p = document.createElement("p");
    p.className = "m-" + (kind || "info");
    p.textContent = text;
    statusBox.appendChild(p);
  }

  function clearErrors() {
    form.querySelectorAll("[data-error-for]").forEach((el) => el.replaceChildren());
    form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    form.querySelectorAll(".m-has-error").forEach((el) => el.classList.remove("m-has-error"));
  }

  function showErrors(errors) {
    clearErrors();
    let first = null;
    Object.entries(errors || {}).forEach(([name, messages]) => {
      const box = form.querySelector(`[data-error-for="${name}"]`);
      if (!box) {
        messages.forEach((m) => { const p = document.createElement("p"); p.className = "m-error"; p.textContent = m; statusBox.appendChild(p); });
        return;
      }
      messages.forEach((m) => { const p = document.createElement("p"); p.textContent = m; box.appendChild(p); });
      const field = box.closest(".m-field");
      if (field) field.classList.add("m-has-error");
      form.querySelectorAll(`[aria-describedby~="${box.id}"]`).forEach((el) => el.setAttribute("aria-invalid", "true"));
      if (!first && field) first = field;
    });
    if (first) {
      first.scrollIntoView({ block: "start", behavior: "smooth" });
      const focusable = first.querySelector("input:not([type=hidden]), textarea, select, button");
      if (focusable) focusable.focus({ preventScroll: true });
    }
  }

  // --- the draft: fields in localStorage ---------------------------------------------------------
  function fieldValues() {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "file" || el.name === "csrfmiddlewaretoken" || el.disabled) continue;
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value; }
      else if (el.type === "checkbox") data[el.name] = el.checked;
      else data[el.name] = el.value;
    }
    const checkedCategory = form.querySelector('input[name="category"]:checked');
    if (checkedCategory) data._category_label = checkedCategory.closest("label").textContent.trim();
    return data;
  }

  let saveTimer = null;
  function saveDraftSoon() { clearTimeout(saveTimer); saveTimer = setTimeout(saveFields, 300); }
  const CONTENT_FIELDS = ["description", "address", "category", "category_q", "reporter_name", "reporter_phone"];
  function hasContent(fields) {
    return CONTENT_FIELDS.some((name) => fields[name]) || PHOTO_GROUPS.some((g) => photos[g].length);
  }
  function saveFields() {
    const fields = fieldValues();
    try {
      if (hasContent(fields)) localStorage.setItem(DRAFT_KEY, JSON.stringify({ savedAt: Date.now(), fields }));
      else localStorage.removeItem(DRAFT_KEY); // a position alone is not a draft
    } catch (e) { /* private mode or full: the form still works */ }
  }

  function restoreFields() {
    let draft = null;
    try { draft = JSON.parse(localStorage.getItem(DRAFT_KEY) || "null"); } catch (e) { draft = null; }
    if (!draft || !draft.fields) return false;
    const f = draft.fields;
    if (f.category && !form.querySelector(`input[name="category"][value="${CSS.escape(f.category)}"]`)) {
      addCategoryOption(f.category, f._category_label || f.category, false);
    }
    for (const el of form.elements) {
      if (!el.name || el.type === "file" || el.name === "csrfmiddlewaretoken" || !(el.name in f)) continue;
      if (el.type === "radio") el.checked = el.value === f[el.name];
      else if (el.type === "checkbox") el.checked = !!f[el.name];
      else el.value = f[el.name];
    }
    return true;
  }

  // --- the draft: photos in IndexedDB (or data URLs in localStorage) -------------------------------
  function idb() {
    return new Promise((resolve, reject) => {
      if (!window.indexedDB) { reject(new Error("no indexedDB")); return; }
      const req = indexedDB.open("cityloop-drafts", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("photos");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  function idbRun(mode, fn) {
    return idb().then((db) => new Promise((resolve, reject) => {
      const tx = db.transaction("photos", mode);
      const result = fn(tx.objectStore("photos"));
      tx.oncomplete = () => { db.close(); resolve(result && result.result); };
      tx.onerror = tx.onabort = () => { db.close(); reject(tx.error); };
    }));
  }
  function fitting(limit) {
    let total = 0, partial = false;
    const kept = {};
    PHOTO_GROUPS.forEach((g) => {
      kept[g] = photos[g].filter((p) => {
        if (total + p.file.size > limit) { partial = true; return false; }
        total += p.file.size; return true;
      });
    });
    return { kept, partial };
  }
  function blobToDataURL(blob) {
    return new Promise((resolve, reject) => {
      const r = new FileReader(); r.onload = () => resolve(r.result); r.onerror = () => reject(r.error); r.readAsDataURL(blob);
    });
  }
  let photoSave = Promise.resolve();
  function savePhotos() {
    photoSave = photoSave.then(() => {
      const { kept, partial } = fitting(IDB_MAX_BYTES);
      const value = {};
      PHOTO_GROUPS.forEach((g) => { value[g] = kept[g].map((p) => ({ name: p.name, type: p.type, blob: p.file })); });
      return idbRun("readwrite", (store) => store.put(value, DRAFT_KEY)).then(() => partial, () => savePhotosAsDataURLs());
    }).then((partial) => { if (partial) showStatus(msg("PhotosPartial"), "info"); }, () => {});
    return photoSave;
  }
  function savePhotosAsDataURLs() {
    const { kept, partial } = fitting(LS_MAX_BYTES);
    const jobs = [];
    const value = {};
    PHOTO_GROUPS.forEach((g) => {
      value[g] = [];
      kept[g].forEach((p) => jobs.push(blobToDataURL(p.file).then((url) => value[g].push({ name: p.name, type: p.type, url }))));
    });
    return Promise.all(jobs).then(() => {
      try { localStorage.setItem(DRAFT_KEY + ":photos", JSON.stringify(value)); return partial; }
      catch (e) { localStorage.removeItem(DRAFT_KEY + ":photos"); return true; }
    });
  }
  function restorePhotos() {
    return idbRun("readonly", (store) => store.get(DRAFT_KEY)).catch(() => null).then((value) => {
      if (value) return value;
      let stored = null;
      try { stored = JSON.parse(localStorage.getItem(DRAFT_KEY + ":photos") || "null"); } catch (e) { stored = null; }
      if (!stored) return null;
      const out = {};
      const jobs = [];
      PHOTO_GROUPS.forEach((g) => {
        out[g] = [];
        (stored[g] || []).forEach((p, i) => jobs.push(fetch(p.url).then((r) => r.blob()).then((blob) => { out[g][i] = { name: p.name, type: p.type, blob }; })));
      });
      return Promise.all(jobs).then(() => out);
    }).then((value) => {
      if (!value) return false;
      let any = false;
      PHOTO_GROUPS.forEach((g) => (value[g] || []).filter(Boolean).forEach((p) => { addPhoto(g, p.blob, p.name, p.type, false); any = true; }));
      return any;
    });
  }
  function clearDraft() {
    try { localStorage.removeItem(DRAFT_KEY); localStorage.removeItem(DRAFT_KEY + ":photos"); } catch (e) { /* ignore */ }
    return idbRun("readwrite", (store) => store.delete(DRAFT_KEY)).catch(() => {});
  }

  // --- photos: a list with thumbnails ---------------------------------------------------------------
  function addPhoto(group, blob, name, type, persist) {
    const entry = { file: blob, name: name || "photo.jpg", type: type || blob.type || "image/jpeg" };
    photos[group].push(entry);
    renderThumbs(group);
    if (persist) savePhotos();
  }
  function renderThumbs(group) {
    const list = form.querySelector(`[data-thumbs="${group}"]`);
    if (!list) return;
    list.replaceChildren();
    photos[group].forEach((entry, index) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.onload = img.onerror = () => URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(entry.file);
      img.alt = entry.name;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = msg("Remove");
      remove.setAttribute("aria-label", `${msg("Remove")} ${entry.name}`);
      remove.addEventListener("click", () => { photos[group].splice(index, 1); renderThumbs(group); savePhotos(); });
      li.append(img, remove);
      list.appendChild(li);
    });
  }
  form.querySelectorAll('input[type="file"]').forEach((input) => {
    input.addEventListener("change", () => {
      Array.from(input.files || []).forEach((file) => addPhoto(input.name, file, file.name, file.type, false));
      input.value = ""; // the list, not the input, is what gets submitted
      savePhotos();
    });
  });

  // --- self-handling: after photos only when ticked ------------------------------------------------
  const selfHandled = form.querySelector("#id_self_handled");
  const afterBox = form.querySelector("[data-after-photos]");
  function syncAfter() { if (selfHandled && afterBox) afterBox.hidden = !selfHandled.checked; }
  if (selfHandled) selfHandled.addEventListener("change", syncAfter);

  // --- category search ------------------------------------------------------------------------------
  const searchInput = form.querySelector("#id_category_q");
  const options = form.querySelector("[data-category-options]");
  const results = form.querySelector("[data-category-results]");
  function addCategoryOption(code, label, checked) {
    const wrap = document.createElement("label");
    wrap.className = "m-chip";
    const radio = document.createElement("input");
    radio.type = "radio"; radio.name = "category"; radio.value = code; radio.checked = checked;
    wrap.append(radio, document.createTextNode(" " + label));
    options.appendChild(wrap);
    return radio;
  }
  let searchTimer = null, searchSeq = 0;
  function search() {
    const q = searchInput.value.trim();
    const seq = ++searchSeq;
    if (!q) { results.replaceChildren(); return; }
    fetch(`${form.dataset.searchUrl}?q=${encodeURIComponent(q)}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((data) => {
        if (seq !== searchSeq) return;
        results.replaceChildren();
        if (!data.results.length) {
          const p = document.createElement("p"); p.className = "m-hint"; p.textContent = msg("NoResults"); results.appendChild(p); return;
        }
        data.results.forEach((c) => {
          const b = document.createElement("button");
          b.type = "button"; b.className = "m-secondary";
          b.textContent = `${c.name}（${c.code}）`;
          b.title = c.major;
          b.addEventListener("click", () => {
            let radio = form.querySelector(`input[name="category"][value="${CSS.escape(c.code)}"]`);
            if (!radio) radio = addCategoryOption(c.code, c.name, true);
            radio.checked = true;
            radio.focus();
            results.replaceChildren();
            searchInput.value = "";
            saveFields();
          });
          results.appendChild(b);
        });
      })
      .catch(() => {});
  }
  if (searchInput) {
    searchInput.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(search, 250); });
    searchInput.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); search(); } });
  }

  // --- position: geolocation and a pin on a vector map -----------------------------------------------
  const mapEl = document.getElementById("report-map");
  let map = null, marker = null, gridLayer = null;
  function setStatus(text) { if (locationStatus) locationStatus.textContent = text; }
  function placeMarker(lat, lon, zoom) {
    if (!map) return;
    const ll = [lat, lon];
    if (!marker) {
      marker = L.marker(ll, { draggable: true, keyboard: true, autoPan: true }).addTo(map);
      marker.on("dragend", () => { const p = marker.getLatLng(); setPoint(p.lat, p.lng, msg("Pinned"), false); });
    } else {
      marker.setLatLng(ll);
    }
    if (zoom) map.setView(ll, Math.max(map.getZoom() || 0, zoom));
  }
  function setPoint(lat, lon, text, zoom) {
    lonInput.value = lon.toFixed(7);
    latInput.value = lat.toFixed(7);
    placeMarker(lat, lon, zoom ? 17 : 0);
    setStatus(text);
    const box = form.querySelector('[data-error-for="location"]');
    if (box) box.replaceChildren();
    saveFields();
  }
  function locate() {
    if (!navigator.geolocation) { setStatus(msg("LocateFailed")); return; }
    setStatus(msg("Locating"));
    navigator.geolocation.getCurrentPosition(
      (pos) => setPoint(pos.coords.latitude, pos.coords.longitude, msg("Located").replace("%s", Math.round(pos.coords.accuracy)), true),
      () => setStatus(msg("LocateFailed")),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
    );
  }
  function loadGrids() {
    if (!map || !mapEl.dataset.gridsUrl) return;
    if (map.getZoom() < 16) { if (gridLayer) gridLayer.clearLayers(); return; }
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
    fetch(`${mapEl.dataset.gridsUrl}?bbox=${bbox}`).then((r) => r.json()).then((geojson) => {
      if (!gridLayer) gridLayer = L.geoJSON(null, { style: { color: "#5b6675", weight: 1, fill: false, dashArray: "3" }, interactive: false }).addTo(map);
      gridLayer.clearLayers();
      gridLayer.addData(geojson);
    }).catch(() => {});
  }
  function initMap() {
    if (!mapEl || !window.L) return;
    map = L.map(mapEl, { attributionControl: false, maxZoom: 19 });
    if (mapEl.dataset.tileUrl) L.tileLayer(mapEl.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
    map.setView([36.66, 117.02], 11);
    fetch(mapEl.dataset.regionsUrl).then((r) => r.json()).then((geojson) => {
      const layer = L.geoJSON(geojson, {
        style: { color: "#1f5f99", weight: 1.5, fillColor: "#9cc3e6", fillOpacity: 0.25 }, interactive: false,
      }).addTo(map);
      if (!marker && layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
    }).catch(() => {});
    map.on("click", (e) => setPoint(e.latlng.lat, e.latlng.lng, msg("Pinned"), false));
    map.on("moveend", loadGrids);
  }

  form.querySelectorAll("[data-action]").forEach((button) => button.addEventListener("click", () => {
    if (button.dataset.action === "locate") locate();
    if (button.dataset.action === "pin-center" && map) { const c = map.getCenter(); setPoint(c.lat, c.lng, msg("Pinned"), false); }
  }));
  [lonInput, latInput].forEach((el) => el.addEventListener("change", () => {
    const lon = parseFloat(lonInput.value), lat = parseFloat(latInput.value);
    if (isFinite(lon) && isFinite(lat)) { placeMarker(lat, lon, 16); setStatus(msg("Typed")); }
  }));

  // --- submit with fetch(); keep the draft on any failure --------------------------------------------
  function csrfToken() {
    const input = form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (submitting) return; // a double tap sends once; a retry later reuses the same idempotency key
    submitting = true;
    saveFields();
    const body = new FormData(form);
    PHOTO_GROUPS.forEach((g) => {
      body.delete(g);
      if (g === "after_photos" && selfHandled && !selfHandled.checked) return;
      photos[g].forEach((p) => body.append(g, p.file, p.name));
    });
    submitButton.disabled = true;
    const label = submitButton.textContent;
    submitButton.textContent = msg("Sending");
    clearErrors();
    showStatus("");
    fetch(form.action, {
      method: "POST", body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    })
      .then((response) => response.json().catch(() => ({})).then((data) => ({ response, data })))
      .then(({ response, data }) => {
        if (response.ok && data.ok) {
          return clearDraft().then(() => { window.location.assign(data.next); });
        }
        if (response.status === 422) { showStatus(data.message || msg("Invalid"), "error"); showErrors(data.errors); }
        else if (response.status === 403 && !data.message) showStatus(msg("Expired"), "error");
        else showStatus(data.message || msg("Failed"), "error");
        return null;
      })
      .catch(() => { saveFields(); savePhotos(); showStatus(msg("Offline"), "offline"); })
      .finally(() => { submitting = false; submitButton.disabled = false; submitButton.textContent = label; });
  });
  window.addEventListener("pageshow", (e) => { if (e.persisted) window.location.reload(); }); // back after a submit: fresh key
  window.addEventListener("online", () => {
    const p = statusBox.querySelector(".m-offline");
    if (p) p.textContent = msg("Online");
  });

  // --- start ----------------------------------------------------------------------------------
  const serverErrors = !!form.querySelector("[data-error-for] p");
  const restored = serverErrors ? false : restoreFields(); // a server re-render already holds the values
  syncAfter();
  const coords = form.querySelector("[data-coords]");
  initMap();
  const lon0 = parseFloat(lonInput.value), lat0 = parseFloat(latInput.value);
  if (isFinite(lon0) && isFinite(lat0)) { placeMarker(lat0, lon0, 16); setStatus(msg("Typed")); }
  else if (map) locate();
  if (coords && map && !serverErrors) coords.open = false;
  restorePhotos().then((any) => { if (restored || any) showStatus(msg("Restored"), "info"); });
  form.addEventListener("input", saveDraftSoon);
  form.addEventListener("change", saveDraftSoon);
})();
