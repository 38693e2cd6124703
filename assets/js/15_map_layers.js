/**
 * The dash-leaflet functions every map layer names (dashboard/maps.py LayerConfig: style,
 * pointToLayer, onEachFeature), in one place for all maps: the live map and wall, the
 * dispatch map's outlines, the analysis map's hexagons.
 */
(function () {
  'use strict';

  const ZONE_COLOUR = {1: '#e53935', 2: '#fb8c00', 3: '#fdd835', 4: '#1e88e5'};

  /**
   * Text for a Leaflet tooltip, as an element: Leaflet puts a string into innerHTML, and names,
   * addresses and types come from devices and forms (an address may be "<img onerror=…>").
   * @param {string} text
   * @returns {HTMLElement}
   */
  function textTip(text) {
    const el = document.createElement('span');
    el.textContent = text;
    return el;
  }

  /** A label from the live page's config (rt.live.cfg[map][key]), or the fallback. */
  function cfgText(map, key, fallback) {
    const rt = window.qzRuntime || {};
    const c = rt.live && rt.live.cfg;
    return (c && c[map] && c[map][key]) || fallback;
  }

  window.dash_clientside = Object.assign(window.dash_clientside || {}, {
    qz: Object.assign((window.dash_clientside || {}).qz || {}, {
      /** Live map: the selected unit's last 30 minutes. */
      liveTrailStyle: function () {
        return {color: '#00e5ff', weight: 4, opacity: 0.9, dashArray: '6 4'};
      },
      /** Live map: station jurisdiction outline. */
      liveJurisdictionStyle: function () {
        return {color: '#37474f', weight: 2.5, dashArray: '8 6', fillColor: '#90a4ae', fillOpacity: 0.04};
      },
      /** Live map: patrol zone, coloured by its alert level (1 red … 4 blue, 0 quiet). */
      liveZoneStyle: function (feature) {
        const level = feature.properties.alert_level;
        const colour = ZONE_COLOUR[level];
        return colour ? {color: colour, weight: 2, fillColor: colour, fillOpacity: level <= 2 ? 0.2 : 0.08}
          : {color: '#5c7a99', weight: 1, fillOpacity: 0, dashArray: '2 4'};
      },
      /** Live map: station names as fixed labels; zones as hover tooltips with their level. */
      liveAreaLabel: function (feature, layer) {
        const p = feature.properties;
        if (p.alert_level === undefined) {
          layer.bindTooltip(textTip(p.name), {permanent: true, direction: 'center', className: 'qz-area-label'});
        } else {
          layer.bindTooltip(textTip(p.name + (p.alert_level ? ' · ' + p.alert_level : '')), {sticky: true});
        }
      },
      /** Live map: community grids (一居一警), thin green outlines. */
      liveGridStyle: function () {
        return {color: '#2e7d32', weight: 1.5, fillColor: '#66bb6a', fillOpacity: 0.06, dashArray: '6 3'};
      },
      /** Live map: a grid's name, its community officer and grid worker on hover. */
      liveGridLabel: function (feature, layer) {
        const p = feature.properties;
        layer.bindTooltip(textTip([p.name, p.officer, p.grid_worker].filter(Boolean).join(' · ')), {sticky: true});
      },
      /** Duty map: a planned move, a dashed line from the unit to its target zone, coloured by the zone's level. */
      dutyMoveStyle: function (feature) {
        return {color: ZONE_COLOUR[feature.properties.level_n] || '#1e88e5', weight: 3, opacity: 0.9, dashArray: '6 5'};
      },
      /** Duty map: the move's unit, target zone and ETA. */
      dutyMoveTooltip: function (feature, layer) {
        const p = feature.properties;
        layer.bindTooltip(textTip(p.unit + ' → ' + p.zone + ' · ' + p.eta));
      },
      /** Live map: open incident, a priority-coloured marker (P1 pulses, via CSS). */
      liveIncidentMarker: function (feature, latlng) {
        const p = feature.properties.priority;
        return L.marker(latlng, {
          icon: L.divIcon({className: 'qz-inc p' + Number(p), html: '<span>' + Number(p) + '</span>', iconSize: [22, 22]}),
          keyboard: false, zIndexOffset: -1000,
        });
      },
      /** Live map: incident tooltip with priority, type, address. */
      liveIncidentTooltip: function (feature, layer) {
        const p = feature.properties;
        layer.bindTooltip(textTip(cfgText('priority', String(p.priority), 'P' + p.priority) + ' · ' +
          (p.type_name || p.type) + (p.address ? ' · ' + p.address : '') + ' · ' + p.id));
      },
      /** Dispatch map: station jurisdiction, outline only. */
      outlineJurisdictionStyle: function () {
        return {color: '#33507a', weight: 2, fill: false};
      },
      /** Dispatch map: patrol zone, dashed outline only. */
      outlineZoneStyle: function () {
        return {color: '#7a8ca8', weight: 1, dashArray: '4 4', fill: false};
      },
      /** Analysis map: count hexagons, fill colour computed on the server (properties.fill). */
      hexStyle: function (feature) {
        return {fillColor: feature.properties.fill, fillOpacity: 0.6, color: '#8c2d04', weight: 0.6, opacity: 0.7};
      },
      /** Analysis map: Gi* hot spots, outline only, thicker at 99 % (properties.hot = 2) than at 95 %. */
      giStyle: function (feature) {
        return {fill: false, color: '#1f4e9c', weight: feature.properties.hot === 2 ? 3 : 1.5, opacity: 0.95};
      },
    }),
  });
}());
