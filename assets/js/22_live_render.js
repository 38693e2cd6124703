/**
 * Drawing the units layer: when many units are in view at low zoom they are binned into
 * screen-grid clusters (SOS and selected units never are); zoomed in, or with few units in
 * view, every unit is drawn. Markers are culled to the padded viewport and reused, and
 * clusters come from a pool, so memory stays flat. Extends UnitLayer of 20_live_units.js.
 */
(function () {
  'use strict';

  const rt = window.qzRuntime;
  if (!rt || !rt.UnitLayer) {
    console.error('qz: 22_live_render.js needs 20_live_units.js');
    return;
  }
  const UnitLayer = rt.UnitLayer;
  const CLUSTER_BELOW_ZOOM = 16;     // never cluster at this zoom or closer (also 25_live_select.js)
  const CLUSTER_MIN_IN_VIEW = 1200;  // cluster only when this many units are in view

  /** After an update: in points mode move only the units that moved, else render anew. */
  UnitLayer.prototype.draw = function (moved, full, changed) {
    if (this.mode === 'points' && !full && this.inViewCount() < CLUSTER_MIN_IN_VIEW) {
      this.updatePoints(moved);
    } else if (changed) {
      this.render();
    }
  };

  UnitLayer.prototype.markerOf = function (u) {
    if (!u.marker) {
      u.marker = new this.cls.UnitMarker([u.lat, u.lon], {renderer: this.renderer, radius: 6.5 * this.look.scale,
        bubblingMouseEvents: false});
      u.marker.qzUnit = u;
      u.marker.qzLook = this.look;
    }
    return u.marker;
  };

  UnitLayer.prototype.paddedBounds = function () {
    return this.map.getBounds().pad(rt.UNITS_PAD);
  };

  UnitLayer.prototype.inViewCount = function () {
    return this.lastInView || 0;
  };

  /** Points mode, incremental: move and restyle only the given units. */
  UnitLayer.prototype.updatePoints = function (list) {
    const b = this.paddedBounds();
    for (let i = 0; i < list.length; i++) {
      const u = list[i];
      const want = this.shown(u) && b.contains([u.lat, u.lon]);
      if (want) {
        const m = this.markerOf(u);
        m.setLatLng([u.lat, u.lon]);  // on the map this also repaints the old and the new spot
        if (!u.onMap) {
          this.group.addLayer(m);
          u.onMap = true;
          this.lastInView++;
        }
      } else if (u.onMap) {
        this.group.removeLayer(u.marker);
        u.onMap = false;
        this.lastInView--;
      }
    }
  };

  /** Full render for the current view: choose points or clusters, then sync the markers. */
  UnitLayer.prototype.render = function () {
    const map = this.map;
    const b = this.paddedBounds();
    const inView = [];
    this.units.forEach(function (u) {
      if (this.shown(u) && b.contains([u.lat, u.lon])) {
        inView.push(u);
      } else if (u.onMap) {
        this.group.removeLayer(u.marker);
        u.onMap = false;
      }
    }, this);
    this.lastInView = inView.length;
    const cluster = map.getZoom() < CLUSTER_BELOW_ZOOM && inView.length >= CLUSTER_MIN_IN_VIEW;
    this.mode = cluster ? 'clusters' : 'points';
    let singles = inView;
    const groups = [];
    if (cluster) {
      const cells = new Map();
      singles = [];
      const zoom = map.getZoom();
      const cell = rt.glyphs.CELL_PX * this.look.scale;
      for (let i = 0; i < inView.length; i++) {
        const u = inView[i];
        if (u.sos || u.selected) {
          singles.push(u);
          continue;
        }
        const p = map.project([u.lat, u.lon], zoom);
        const key = Math.floor(p.x / cell) * 100003 + Math.floor(p.y / cell);
        let c = cells.get(key);
        if (!c) {
          c = [];
          cells.set(key, c);
        }
        c.push(u);
      }
      cells.forEach(function (members) {
        if (members.length === 1) {
          singles.push(members[0]);
        } else {
          groups.push(members);
        }
      });
    }
    const single = new Set(singles);
    for (let i = 0; i < inView.length; i++) {
      const u = inView[i];
      if (single.has(u)) {
        const m = this.markerOf(u);
        m.setLatLng([u.lat, u.lon]);
        if (!u.onMap) {
          this.group.addLayer(m);
          u.onMap = true;
        }
      } else if (u.onMap) {
        this.group.removeLayer(u.marker);
        u.onMap = false;
      }
    }
    this.drawClusters(groups);
  };

  UnitLayer.prototype.drawClusters = function (groups) {
    for (let i = 0; i < groups.length; i++) {
      const members = groups[i];
      let lat = 0;
      let lon = 0;
      const byStatus = {};
      for (let j = 0; j < members.length; j++) {
        const u = members[j];
        lat += u.lat;
        lon += u.lon;
        const s = u.fresh === rt.glyphs.LOST ? 'lost' : u.status;
        byStatus[s] = (byStatus[s] || 0) + 1;
      }
      let m = this.clusters[i];
      if (!m) {
        m = new this.cls.ClusterMarker([0, 0], {renderer: this.renderer, radius: 14, bubblingMouseEvents: false});
        m.qzLook = this.look;
        this.clusters.push(m);
      }
      m.qzCluster = {n: members.length, byStatus: byStatus};
      m.setRadius(rt.glyphs.clusterRadius(members.length, this.look.scale));
      m.setLatLng([lat / members.length, lon / members.length]);
      if (!m._map) {
        this.group.addLayer(m);
      }
    }
    for (let i = groups.length; i < this.clusters.length; i++) {
      if (this.clusters[i]._map) {
        this.group.removeLayer(this.clusters[i]);
      }
    }
    this.clustersUsed = groups.length;
  };

  /** Flash phase for SOS markers: repaint only those. */
  UnitLayer.prototype.flash = function () {
    this.look.flash = !this.look.flash;
    this.units.forEach(function (u) {
      if (u.sos && u.onMap) {
        u.marker.redraw();
      }
    });
  };

  rt.CLUSTER_BELOW_ZOOM = CLUSTER_BELOW_ZOOM;
}());
