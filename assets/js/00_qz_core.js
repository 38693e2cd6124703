/**
 * Shared runtime of the pages' scripts: the Leaflet map registry, fetching JSON with a
 * timeout, pushing props into Dash components, the "connection lost" banner, time helpers.
 *
 * dash-leaflet 1.1.3 creates its L.Map inside React and exposes no handle to it, but it
 * bundles Leaflet and sets window.L. An init hook on L.Map records every map by its
 * container's id (the Dash id of the dl.Map), so clientside code can reach the map
 * instance and add persistent layers to it. The entry is removed when the map unloads.
 */
(function () {
  'use strict';

  const maps = new Map();          // container id -> L.Map
  const waiting = new Map();       // container id -> [callback]
  let hooked = false;

  function installHook() {
    if (hooked || !window.L || !window.L.Map) {
      return hooked;
    }
    hooked = true;
    window.L.Map.addInitHook(function () {
      const map = this;
      const id = map.getContainer().id;
      if (!id) {
        return;
      }
      maps.set(id, map);
      map.on('unload', function () {
        if (maps.get(id) === map) {
          maps.delete(id);
        }
      });
      (waiting.get(id) || []).forEach(function (cb) { cb(map); });
      waiting.delete(id);
    });
    return true;
  }

  /**
   * Call cb(map) once the Leaflet map with this container id exists (now or later).
   * @param {string} id Dash id of the dl.Map
   * @param {function(L.Map)} cb
   */
  function whenMap(id, cb) {
    installHook();
    const map = maps.get(id);
    if (map && map.getContainer().isConnected) {
      cb(map);
      return;
    }
    const list = waiting.get(id) || [];
    list.length = 0;  // only the newest caller waits: a page re-render replaces the old one
    list.push(cb);
    waiting.set(id, list);
  }

  const formatters = new Map();

  /**
   * HH:MM:SS of an epoch-ms time in the configured zone (Intl, cached per zone).
   * @param {number} ms
   * @param {string} tz IANA zone, e.g. Asia/Shanghai
   * @returns {string}
   */
  function fmtTime(ms, tz) {
    let f = formatters.get(tz);
    if (!f) {
      f = new Intl.DateTimeFormat('en-GB', {timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit',
        hour12: false});
      formatters.set(tz, f);
    }
    return f.format(new Date(ms));
  }

  /**
   * A short age like "45s", "12m", "3h" (labels from the config's text).
   * @param {number} seconds
   * @param {Object} text config.text
   * @returns {string}
   */
  function ageText(seconds, text) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) {
      return s + text['live.unit.sec'];
    }
    if (s < 3600) {
      return Math.floor(s / 60) + text['live.unit.min'];
    }
    return Math.floor(s / 3600) + text['live.unit.hour'];
  }

  /**
   * fetch() a JSON endpoint with a timeout; resolves to the parsed body, rejects on any failure.
   * @param {string} url
   * @param {number} timeoutMs
   * @returns {Promise<Object>}
   */
  function getJSON(url, timeoutMs) {
    const ctrl = new AbortController();
    const timer = setTimeout(function () { ctrl.abort(); }, timeoutMs);
    return fetch(url, {signal: ctrl.signal, cache: 'no-store', credentials: 'same-origin'})
      .then(function (r) {
        if (!r.ok) {
          throw new Error('HTTP ' + r.status);
        }
        return r.json();
      })
      .finally(function () { clearTimeout(timer); });
  }

  /**
   * Set props of a Dash component of this page (no callback reads the props we push, so
   * dash-renderer's undo history does not record them).
   * @param {string} id
   * @param {Object} props
   */
  function setProps(id, props) {
    try {
      window.dash_clientside.set_props(id, props);
    } catch (err) {
      console.warn('qz: cannot update ' + id, err);
    }
  }

  /**
   * Show "<text> HH:MM:SS" in the banner element with this id, or hide it (since = null).
   * @param {string} id
   * @param {?number} since epoch ms of the last good answer
   * @param {string} text e.g. "connection lost since"
   * @param {string} tz
   */
  function banner(id, since, text, tz) {
    const el = document.getElementById(id);
    if (!el) {
      return;
    }
    if (since === null) {
      if (!el.hidden) {
        el.hidden = true;
      }
      return;
    }
    el.textContent = text + ' ' + fmtTime(since, tz);
    el.hidden = false;
  }

  installHook();
  document.addEventListener('DOMContentLoaded', installHook);
  window.qzRuntime = Object.assign(window.qzRuntime || {}, {whenMap: whenMap, fmtTime: fmtTime, ageText: ageText,
    installHook: installHook, maps: maps, getJSON: getJSON, setProps: setProps, banner: banner});
}());
