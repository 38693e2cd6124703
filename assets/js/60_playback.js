/**
 * Playback (/playback): the frame at the slider's time — each unit where it was (between two
 * fixes, on the straight line), coloured by its status then; the incidents received by then; the
 * long stops — and the clock that moves the slider while playing.
 */
(function () {
  'use strict';

  const EMPTY = {type: 'FeatureCollection', features: []};
  // A window opens between two fixes: a unit is drawn at its first fix from this long before it, so that
  // the first frame shows the units rather than an empty map.
  const LEAD_S = 300;

  /** Index of the last entry of the sorted array `a` that is <= x, or -1. */
  function lastAtOrBefore(a, x) {
    let lo = 0;
    let hi = a.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid] <= x) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  /** A point feature. */
  function point(lat, lon, props) {
    return {type: 'Feature', geometry: {type: 'Point', coordinates: [lon, lat]}, properties: props};
  }

  /** Where a unit was at time t (null outside its track, LEAD_S before its first fix aside). */
  function positionAt(u, t) {
    const k = lastAtOrBefore(u.t, t);
    if (k < 0) { return u.t.length && u.t[0] - t <= LEAD_S ? [u.lat[0], u.lon[0]] : null; }
    if (t > u.t[u.t.length - 1]) { return null; }
    if (k === u.t.length - 1 || u.t[k] === t) { return [u.lat[k], u.lon[k]]; }
    const f = (t - u.t[k]) / (u.t[k + 1] - u.t[k]);
    return [u.lat[k] + f * (u.lat[k + 1] - u.lat[k]), u.lon[k] + f * (u.lon[k + 1] - u.lon[k])];
  }

  /** Clock text of an epoch second in the centre's time zone, written like every date of the app
   * (2026-11-30 08:06:00: the sv-SE locale's format is ISO's). */
  function clock(t, c) {
    const opts = c ? {timeZone: c.tz, hour12: false} : {hour12: false};
    return new Date(t * 1000).toLocaleString('sv-SE', opts);
  }

  function statusColour(status) {
    const g = (window.qzRuntime || {}).glyphs;
    return (g && g.STATUS_COLOR[status]) || '#7d8794';
  }

  window.dash_clientside = Object.assign(window.dash_clientside || {}, {
    qz: Object.assign((window.dash_clientside || {}).qz || {}, {
      /** [units, incidents, stops] GeoJSON and the clock at slider time `t`. */
      playbackFrame: function (t, data) {
        if (!data || t === undefined || t === null) { return [EMPTY, EMPTY, EMPTY, '']; }
        const units = [];
        data.units.forEach(function (u) {
          const at = positionAt(u, t);
          if (!at) { return; }
          const s = lastAtOrBefore(u.st_t, t);
          const status = s >= 0 ? u.st[s] : 'unknown';
          units.push(point(at[0], at[1], {id: u.unit, label: u.unit + ' · ' + status, status: status,
                                          colour: statusColour(status)}));
        });
        const incidents = data.incidents.filter(function (i) { return i.t <= t; }).map(function (i) {
          return point(i.lat, i.lon, {id: i.id, label: i.id + ' · ' + i.type + ' · P' + i.priority});
        });
        const stops = data.stops.filter(function (s) { return s.from <= t; }).map(function (s, k) {
          const mins = Math.round((s.to - s.from) / 60);
          return point(s.lat, s.lon, {id: 'stop' + k, label: s.unit + ' · ' + mins + ' min', active: s.to >= t});
        });
        return [{type: 'FeatureCollection', features: units}, {type: 'FeatureCollection', features: incidents},
                {type: 'FeatureCollection', features: stops}, clock(t, data.clock)];
      },
      /** While playing: move the slider `speed` seconds per tick (one tick a second), stop at the end. */
      playbackTick: function (n, value, speed, max) {
        if (value === undefined || value === null) { return window.dash_clientside.no_update; }
        return Math.min(value + speed, max);
      },
      /** Every other click of play/pause plays. */
      playbackToggle: function (clicks) {
        return !(clicks % 2);
      },
      /** A unit: a dot in its status colour. */
      playbackUnit: function (feature, latlng) {
        return L.circleMarker(latlng, {radius: 6, color: '#ffffff', weight: 1.5, fillColor: feature.properties.colour,
                                       fillOpacity: 0.95});
      },
      /** An incident received by now: a small red square-ish dot. */
      playbackIncident: function (feature, latlng) {
        return L.circleMarker(latlng, {radius: 4, color: '#b71c1c', weight: 2, fillColor: '#ffcdd2', fillOpacity: 0.9});
      },
      /** A long stop: a ring, solid while the unit is still there. */
      playbackStop: function (feature, latlng) {
        return L.circleMarker(latlng, {radius: 11, color: '#6d28d9', weight: 2, fill: false,
                                       dashArray: feature.properties.active ? null : '3 3'});
      },
      /** Tooltips as text (call signs and types come from devices). */
      playbackTooltip: function (feature, layer) {
        const el = document.createElement('span');
        el.textContent = feature.properties.label;
        layer.bindTooltip(el);
      },
    }),
  });
}());
