/**
 * Analysis page (/analysis): styles of the hotspot map layers, referenced from Python as
 * {"variable": "dash_clientside.analysis.<name>"} (dashboard/analysis_components.py).
 */
(function () {
    "use strict";
    window.dash_clientside = window.dash_clientside || {};

    /** Count hexagons: fill colour computed on the server (properties.fill). */
    function hexStyle(feature) {
        return {fillColor: feature.properties.fill, fillOpacity: 0.6, color: "#8c2d04", weight: 0.6, opacity: 0.7};
    }

    /** Gi* hot spots: outline only, thicker at 99 % (properties.hot = 2) than at 95 %. */
    function giStyle(feature) {
        return {fill: false, color: "#1f4e9c", weight: feature.properties.hot === 2 ? 3 : 1.5, opacity: 0.95};
    }

    window.dash_clientside.analysis = Object.assign(window.dash_clientside.analysis || {}, {
        hexStyle: hexStyle,
        giStyle: giStyle,
    });
})();
