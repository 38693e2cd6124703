/**
 * How a unit and a cluster look: canvas drawing for persistent L.CircleMarker subclasses.
 *
 * One canvas marker per unit is created once and then only moved or restyled, so an update
 * costs only the markers that changed (dl.GeoJSON would redraw every feature). Shape = kind
 * (car square, e-bike diamond, foot circle), fill = status, arrow = heading, badge = camera,
 * faded with age label = stale, grey = lost, flashing red ring = SOS, accuracy circle when
 * zoomed in, call sign when zoomed in further.
 */
(function () {
  'use strict';

  const STATUS_COLOR = {
    available: '#22a45d', patrolling: '#2f80ed', en_route: '#f2a007', on_scene: '#e8336f', busy: '#9b51e0',
    off_duty: '#aab4be', offline: '#7d8794',
  };
  const LOST_COLOR = '#858f99';
  const CAM_COLOR = {recording: '#ff2020', streaming: '#ff2020', standby: '#5dd39e', off: '#2d3640', fault: '#ffb000'};
  const SOS_COLOR = '#ff1744';
  const CELL_PX = 64;                 // cluster grid cell at scale 1 (20_live_units.js)
  const ACC_MIN_ZOOM = 16;
  const LABEL_MIN_ZOOM = 16;
  const FRESH = 0;
  const STALE = 1;
  const LOST = 2;

  function metresPerPixel(map, lat) {
    return 40075016.686 * Math.abs(Math.cos(lat * Math.PI / 180)) / Math.pow(2, map.getZoom() + 8);
  }

  function shapePath(ctx, kind, x, y, r) {
    ctx.beginPath();
    if (kind === 'car') {
      const s = r * 0.9;
      ctx.rect(x - s, y - s, 2 * s, 2 * s);
    } else if (kind === 'ebike') {
      ctx.moveTo(x, y - r * 1.2);
      ctx.lineTo(x + r * 1.2, y);
      ctx.lineTo(x, y + r * 1.2);
      ctx.lineTo(x - r * 1.2, y);
      ctx.closePath();
    } else {
      ctx.arc(x, y, kind === 'foot' ? r * 0.9 : r * 0.75, 0, Math.PI * 2);
    }
  }

  function label(ctx, text, x, y, size, colour) {
    ctx.font = '600 ' + size + 'px "Noto Sans CJK SC", sans-serif';
    ctx.lineWidth = 3;
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ctx.strokeText(text, x, y);
    ctx.fillStyle = colour;
    ctx.fillText(text, x, y);
  }

  /**
   * Draw one unit at pixel point p.
   * @param {CanvasRenderingContext2D} ctx
   * @param {L.Point} p
   * @param {Object} u unit record (20_live_units.js)
   * @param {Object} look {scale, flash, map}
   */
  function drawUnit(ctx, p, u, look) {
    const r = 6.5 * look.scale;
    const lost = u.fresh === LOST;
    const colour = u.sos ? SOS_COLOR : (lost ? LOST_COLOR : (STATUS_COLOR[u.status] || LOST_COLOR));
    const zoom = look.map.getZoom();
    ctx.save();
    if (zoom >= ACC_MIN_ZOOM && u.acc) {
      const accPx = u.acc / metresPerPixel(look.map, u.lat);
      if (accPx > r) {
        ctx.beginPath();
        ctx.arc(p.x, p.y, accPx, 0, Math.PI * 2);
        ctx.fillStyle = 'rgba(47,128,237,0.10)';
        ctx.strokeStyle = 'rgba(47,128,237,0.45)';
        ctx.lineWidth = 1;
        ctx.fill();
        ctx.stroke();
      }
    }
    if (u.sos) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, r * (look.flash ? 3.2 : 2.2), 0, Math.PI * 2);
      ctx.fillStyle = look.flash ? 'rgba(255,23,68,0.35)' : 'rgba(255,23,68,0.12)';
      ctx.fill();
      ctx.lineWidth = 3;
      ctx.strokeStyle = SOS_COLOR;
      ctx.stroke();
    }
    if (u.selected) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, r * 2, 0, Math.PI * 2);
      ctx.lineWidth = 3;
      ctx.strokeStyle = '#00e5ff';
      ctx.stroke();
    }
    ctx.globalAlpha = u.fresh === STALE ? 0.45 : 1;
    if (u.heading !== null && u.speed !== null && u.speed > 0.5 && !lost) {
      const h = u.heading * Math.PI / 180;
      const dx = Math.sin(h);
      const dy = -Math.cos(h);
      const tip = r * 2.1;
      ctx.beginPath();
      ctx.moveTo(p.x + dx * tip, p.y + dy * tip);
      ctx.lineTo(p.x + dx * r * 1.1 - dy * r * 0.6, p.y + dy * r * 1.1 + dx * r * 0.6);
      ctx.lineTo(p.x + dx * r * 1.1 + dy * r * 0.6, p.y + dy * r * 1.1 - dx * r * 0.6);
      ctx.closePath();
      ctx.fillStyle = colour;
      ctx.fill();
    }
    shapePath(ctx, u.kind, p.x, p.y, r);
    ctx.fillStyle = colour;
    ctx.fill();
    ctx.lineWidth = 1.5 * Math.min(look.scale, 2);
    ctx.strokeStyle = '#ffffff';
    ctx.stroke();
    if (u.cam) {
      const bx = p.x + r * 0.95;
      const by = p.y - r * 0.95;
      ctx.beginPath();
      ctx.arc(bx, by, r * 0.5, 0, Math.PI * 2);
      ctx.fillStyle = CAM_COLOR[u.cam] || '#2d3640';
      ctx.fill();
      ctx.lineWidth = 1.2;
      ctx.strokeStyle = u.cam === 'streaming' ? '#ffe600' : '#ffffff';
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    const size = Math.round(11 * look.scale);
    if (u.fresh !== FRESH && u.ageLabel) {
      label(ctx, u.ageLabel, p.x + r * 1.6, p.y + size * 0.35, size, lost ? '#4b5560' : '#7a5a00');
    }
    if (zoom >= LABEL_MIN_ZOOM || u.selected || u.sos) {
      label(ctx, u.id, p.x - r, p.y + r + size + 2, size, u.sos ? SOS_COLOR : '#1d2733');
    }
    ctx.restore();
  }

  /**
   * Draw a cluster: a ring split by status shares, the count in the middle.
   * @param {CanvasRenderingContext2D} ctx
   * @param {L.Point} p
   * @param {Object} c {n, byStatus: {status: count}}
   * @param {Object} look {scale}
   */
  function drawCluster(ctx, p, c, look) {
    const r = clusterRadius(c.n, look.scale);
    ctx.save();
    ctx.beginPath();
    ctx.arc(p.x, p.y, r, 0, Math.PI * 2);
    ctx.fillStyle = 'rgba(15,39,71,0.88)';
    ctx.fill();
    let start = -Math.PI / 2;
    ctx.lineWidth = Math.max(3, r * 0.28);
    Object.keys(c.byStatus).forEach(function (s) {
      const share = c.byStatus[s] / c.n;
      ctx.beginPath();
      ctx.arc(p.x, p.y, r - ctx.lineWidth / 2, start, start + share * Math.PI * 2);
      ctx.strokeStyle = s === 'lost' ? LOST_COLOR : (STATUS_COLOR[s] || LOST_COLOR);
      ctx.stroke();
      start += share * Math.PI * 2;
    });
    ctx.fillStyle = '#ffffff';
    ctx.font = '700 ' + Math.round(r * 0.75) + 'px sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(String(c.n), p.x, p.y + 1);
    ctx.restore();
  }

  /** Grows with the count but always fits its grid cell, so neighbouring clusters never overlap much. */
  function clusterRadius(n, scale) {
    return Math.min((10 + Math.log(n) * 2.2) * scale, 0.4 * CELL_PX * scale);
  }

  let classes = null;

  /**
   * The marker classes, built on first use (window.L exists once dash-leaflet has loaded).
   * @returns {{UnitMarker: Function, ClusterMarker: Function}}
   */
  function markerClasses() {
    if (classes) {
      return classes;
    }
    const L = window.L;
    // Paint-only subclass: the renderer calls _updatePath during its redraw; bounds are
    // widened so labels, arrows and the accuracy circle are inside the repainted area.
    const Base = L.CircleMarker.extend({
      _updatePath: function () {
        const r = this._renderer;
        if (!r._drawing || this._empty()) {
          return;
        }
        this.qzDraw(r._ctx, this._point);
      },
      _updateBounds: function () {
        const pad = this.qzPad();
        this._pxBounds = new L.Bounds(this._point.subtract([pad[0], pad[1]]), this._point.add([pad[2], pad[1]]));
      },
    });
    const UnitMarker = Base.extend({
      qzDraw: function (ctx, p) { drawUnit(ctx, p, this.qzUnit, this.qzLook); },
      qzPad: function () {
        const s = this.qzLook.scale;
        let acc = 0;
        if (this._map && this._map.getZoom() >= ACC_MIN_ZOOM && this.qzUnit.acc) {
          acc = this.qzUnit.acc / metresPerPixel(this._map, this.qzUnit.lat);
        }
        const side = Math.max(acc, 24 * s);
        return [side, Math.max(acc, 34 * s), Math.max(acc, 80 * s)];
      },
    });
    const ClusterMarker = Base.extend({
      qzDraw: function (ctx, p) { drawCluster(ctx, p, this.qzCluster, this.qzLook); },
      qzPad: function () {
        const r = clusterRadius(this.qzCluster.n, this.qzLook.scale) + 2;
        return [r, r, r];
      },
    });
    classes = {UnitMarker: UnitMarker, ClusterMarker: ClusterMarker};
    return classes;
  }

  window.qzRuntime = Object.assign(window.qzRuntime || {}, {
    glyphs: {markerClasses: markerClasses, clusterRadius: clusterRadius, CELL_PX: CELL_PX, STATUS_COLOR: STATUS_COLOR,
      FRESH: FRESH, STALE: STALE, LOST: LOST},
  });
}());
