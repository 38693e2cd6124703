/**
 * Pointing at units: hover tooltip, click to select (details and trail via Dash), clusters
 * zoom in on click, and the call-sign search. Extends UnitLayer of 20_live_units.js.
 */
(function () {
  'use strict';

  const rt = window.qzRuntime;
  if (!rt || !rt.UnitLayer) {
    console.error('qz: 25_live_select.js needs 20_live_units.js');
    return;
  }
  const UnitLayer = rt.UnitLayer;

  UnitLayer.prototype.onOver = function (e) {
    const m = e.propagatedFrom || e.layer;
    let text;
    if (m.qzUnit) {
      const u = m.qzUnit;
      text = u.id + ' · ' + (this.cfg.status[u.status] || '') + ' · ' + (this.cfg.kind[u.kind] || '') +
        (u.cam ? ' · ' + this.cfg.cam[u.cam] : '') + (u.fresh ? ' · ' + u.ageLabel : '');
    } else {
      text = String(m.qzCluster.n);
    }
    this.tooltip.setLatLng(m.getLatLng()).setContent(text);
    this.map.openTooltip(this.tooltip);
  };

  UnitLayer.prototype.onClick = function (e) {
    const m = e.propagatedFrom || e.layer;
    if (m.qzCluster) {
      this.map.setView(m.getLatLng(), Math.min(this.map.getZoom() + 2, rt.CLUSTER_BELOW_ZOOM));
      return;
    }
    this.select(m.qzUnit.id);
  };

  /** Highlight a unit and tell Dash (the details callback) unless on the wall. */
  UnitLayer.prototype.select = function (id) {
    const old = this.units.get(this.selected);
    if (old) {
      old.selected = false;
      if (old.onMap) {
        old.marker.redraw();
      }
    }
    this.selected = id;
    const u = this.units.get(id);
    if (u) {
      u.selected = true;
      if (u.onMap) {
        u.marker.redraw();
      }
    }
    if (!this.cfg.wall && window.dash_clientside.set_props) {
      window.dash_clientside.set_props(this.cfg.ids.selected, {data: id});
    }
  };

  /**
   * Find a unit by call sign (exact, else the only one containing the text), fly to it and select it.
   * @returns {string} message for the search box
   */
  UnitLayer.prototype.search = function (text) {
    const q = (text || '').trim().toLowerCase();
    const t = this.cfg.text;
    if (!q) {
      return '';
    }
    let hit = null;
    const partial = [];
    this.units.forEach(function (u) {
      const id = u.id.toLowerCase();
      if (id === q) {
        hit = u;
      } else if (id.indexOf(q) >= 0) {
        partial.push(u);
      }
    });
    hit = hit || (partial.length === 1 ? partial[0] : null);
    if (!hit) {
      return t['live.not_found'].replace('{unit}', text.trim());
    }
    if (hit.lat === null) {
      return t['live.no_position'].replace('{unit}', hit.id);
    }
    if (hit.status === 'off_duty' && !this.showOffDuty) {
      return t['live.hidden'].replace('{unit}', hit.id);
    }
    this.map.setView([hit.lat, hit.lon], Math.max(this.map.getZoom(), rt.CLUSTER_BELOW_ZOOM));
    this.select(hit.id);
    return t['live.found'].replace('{unit}', hit.id);
  };
}());
