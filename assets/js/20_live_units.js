/**
 * The units layer: one record and one persistent canvas marker per unit, updated in place.
 *
 * apply(delta) touches only units whose fields changed. Freshness (fresh / stale / lost) is
 * aged here on a timer against the server clock, with no request. Drawing the markers
 * (points or clusters, culled to the viewport) is 22_live_render.js.
 */
(function () {
  'use strict';

  const rt = window.qzRuntime;
  const PAD = 0.25;                  // viewport padding (fraction) kept drawn around the view

  /**
   * @param {L.Map} map
   * @param {Object} cfg the page's live config (dashboard/live/api.py client_config)
   */
  function UnitLayer(map, cfg) {
    const g = rt.glyphs;
    this.map = map;
    this.cfg = cfg;
    this.cls = g.markerClasses();
    this.units = new Map();            // id -> record
    this.skew = 0;                     // server clock - browser clock, ms
    this.showOffDuty = false;
    this.visible = true;
    this.selected = null;
    this.needFit = true;               // fit the view to the units of the first snapshot
    this.clusters = [];                // pool of cluster markers
    this.clustersUsed = 0;
    this.mode = 'points';
    const scale = cfg.wall ? 1.5 * Math.max(1, window.innerHeight / 1080) : 1;
    this.look = {scale: scale, flash: false, map: map};
    if (!map.getPane('qzUnits')) {
      map.createPane('qzUnits').style.zIndex = 620;
    }
    this.renderer = L.canvas({pane: 'qzUnits', padding: PAD});
    this.group = L.featureGroup().addTo(map);
    this.tooltip = L.tooltip({direction: 'top', offset: [0, -10 * scale], className: 'qz-unit-tip'});
    this.fields = {};
    cfg.fields.forEach(function (f, i) { this.fields[f] = i; }, this);
    this.group.on('mouseover', this.onOver, this);
    this.group.on('mouseout', function () { map.closeTooltip(this.tooltip); }, this);
    this.group.on('click', this.onClick, this);
    map.on('moveend', this.render, this);
  }

  UnitLayer.prototype.now = function () { return Date.now() + this.skew; };

  UnitLayer.prototype.freshness = function (u, now) {
    if (u.status === 'offline' || u.fix === null) {
      return rt.glyphs.LOST;
    }
    const age = (now - u.fix) / 1000;
    if (age >= this.cfg.lost_s) {
      return rt.glyphs.LOST;
    }
    return age >= this.cfg.stale_s ? rt.glyphs.STALE : rt.glyphs.FRESH;
  };

  UnitLayer.prototype.ageLabelOf = function (u, now) {
    return u.fix === null ? '' : rt.ageText((now - u.fix) / 1000, this.cfg.text);
  };

  UnitLayer.prototype.shown = function (u) {
    return this.visible && u.lat !== null && u.lon !== null && (this.showOffDuty || u.status !== 'off_duty');
  };

  /**
   * Apply one /api/live/units answer; returns how many units changed.
   * @param {{v:number, full:boolean, now:number, rows:Array}} d
   */
  UnitLayer.prototype.apply = function (d) {
    const f = this.fields;
    const now = d.now;
    this.skew = d.now - Date.now();
    let changed = 0;
    let seen = null;
    if (d.full) {
      seen = new Set();
    }
    const moved = [];
    for (let i = 0; i < d.rows.length; i++) {
      const r = d.rows[i];
      const id = r[f.id];
      if (seen) {
        seen.add(id);
      }
      let u = this.units.get(id);
      if (!u) {
        u = {id: id, kind: null, lat: null, lon: null, heading: null, speed: null, acc: null,
          status: null, sos: false, cam: null, fix: null, fresh: -1, ageLabel: '', marker: null,
          onMap: false, selected: false, movedAt: 0};
        this.units.set(id, u);
      }
      const lat = r[f.lat];
      const lon = r[f.lon];
      const posChanged = lat !== u.lat || lon !== u.lon;
      const styleChanged = posChanged || r[f.kind] !== u.kind || r[f.heading] !== u.heading ||
        r[f.speed] !== u.speed || r[f.acc] !== u.acc || r[f.status] !== u.status || r[f.sos] !== u.sos ||
        r[f.cam] !== u.cam || r[f.fix_ms] !== u.fix;
      if (!styleChanged) {
        continue;
      }
      changed++;
      u.kind = r[f.kind];
      u.lat = lat;
      u.lon = lon;
      u.heading = r[f.heading];
      u.speed = r[f.speed];
      u.acc = r[f.acc];
      u.status = r[f.status];
      u.sos = r[f.sos];
      u.cam = r[f.cam];
      u.fix = r[f.fix_ms];
      u.fresh = this.freshness(u, now);
      u.ageLabel = this.ageLabelOf(u, now);
      if (posChanged) {
        u.movedAt = Date.now();
      }
      moved.push(u);
    }
    if (seen) {
      this.units.forEach(function (u, id) {
        if (!seen.has(id)) {
          this.drop(u);
          changed++;
        }
      }, this);
    }
    if (d.full && this.needFit) {
      this.fit();
    }
    this.draw(moved, d.full, changed);
    return changed;
  };

  /** Show all shown units (first snapshot, new station filter); render follows on moveend. */
  UnitLayer.prototype.fit = function () {
    const pts = [];
    this.units.forEach(function (u) {
      if (this.shown(u)) {
        pts.push([u.lat, u.lon]);
      }
    }, this);
    if (pts.length) {
      this.needFit = false;
      const right = this.cfg.wall ? Math.round(window.innerWidth * 0.27) : 0;  // the wall's side overlays
      const top = this.cfg.wall ? Math.round(window.innerHeight * 0.13) : 0;   // and its title
      this.map.fitBounds(L.latLngBounds(pts), {paddingTopLeft: [30, 30 + top], paddingBottomRight: [30 + right, 30],
        maxZoom: 16, animate: false});
    }
  };

  UnitLayer.prototype.drop = function (u) {
    if (u.onMap) {
      this.group.removeLayer(u.marker);
    }
    this.units.delete(u.id);
  };

  /** Re-age every unit; restyle those whose freshness or age label changed. Returns counts. */
  UnitLayer.prototype.age = function () {
    const now = this.now();
    const c = {on_duty: 0, available: 0, patrolling: 0, en_route: 0, on_scene: 0, busy: 0, cam_recording: 0,
      cam_streaming: 0, stale: 0, lost: 0, sos: 0};
    let freshnessChanged = false;
    this.units.forEach(function (u) {
      const fresh = this.freshness(u, now);
      const ageLabel = fresh === rt.glyphs.FRESH ? '' : this.ageLabelOf(u, now);
      if (fresh !== u.fresh || ageLabel !== u.ageLabel) {
        freshnessChanged = freshnessChanged || fresh !== u.fresh;
        u.fresh = fresh;
        u.ageLabel = ageLabel;
        if (u.onMap) {
          u.marker.redraw();
        }
      }
      if (u.status === 'off_duty') {
        return;
      }
      c.on_duty++;
      if (c[u.status] !== undefined) {
        c[u.status]++;
      }
      if (u.cam === 'recording' || u.cam === 'streaming') {
        c['cam_' + u.cam]++;
      }
      if (fresh === rt.glyphs.STALE) {
        c.stale++;
      } else if (fresh === rt.glyphs.LOST) {
        c.lost++;
      }
      if (u.sos) {
        c.sos++;
      }
    }, this);
    if (freshnessChanged && this.mode === 'clusters') {
      this.render();
    }
    return c;
  };

  UnitLayer.prototype.setVisible = function (on) {
    this.visible = on;
    this.render();
  };

  UnitLayer.prototype.setShowOffDuty = function (on) {
    if (on !== this.showOffDuty) {
      this.showOffDuty = on;
      this.render();
    }
  };

  /** Forget every unit (station filter changed): the next answer is a full snapshot. */
  UnitLayer.prototype.clear = function () {
    this.group.clearLayers();
    this.units.clear();
    this.clustersUsed = 0;
  };

  UnitLayer.prototype.remove = function () {
    this.map.off('moveend', this.render, this);
    this.clear();
    this.group.remove();
  };

  /** Numbers for tests and the benchmark. */
  UnitLayer.prototype.stats = function () {
    let markers = 0;
    let shown = 0;
    this.units.forEach(function (u) {
      markers += u.onMap ? 1 : 0;
      shown += this.shown(u) ? 1 : 0;
    }, this);
    let clustered = 0;
    for (let i = 0; i < this.clustersUsed; i++) {
      clustered += this.clusters[i].qzCluster.n;
    }
    return {units: this.units.size, shown: shown, markers: markers, clusters: this.clustersUsed,
      clustered: clustered, mode: this.mode};
  };

  window.qzRuntime = Object.assign(window.qzRuntime || {}, {UnitLayer: UnitLayer, UNITS_PAD: PAD});
}());
