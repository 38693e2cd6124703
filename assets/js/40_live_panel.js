/**
 * The side panel / wall overlays: counts, alert feed, overlay layers, clock, banner, SOS sound;
 * and the dash-leaflet style/pointToLayer/onEachFeature functions of the overlay layers.
 *
 * The alert feed arrives as Dash components (built in Python, so acknowledge buttons are
 * ordinary pattern-matching callbacks) and overlays as GeoJSON; both are pushed with
 * dash_clientside.set_props only when the server's token says they changed.
 */
(function () {
  'use strict';

  const rt = window.qzRuntime;
  const ZONE_COLOUR = {1: '#e53935', 2: '#fb8c00', 3: '#fdd835', 4: '#1e88e5'};

  /**
   * @param {Object} controller the Controller of 30_live_stream.js
   * @param {Object} cfg client config
   */
  function Panel(controller, cfg) {
    this.controller = controller;
    this.cfg = cfg;
    this.atok = '';
    this.otok = '';
    this.sound = false;
    this.sosSeen = new Set();
    this.bannerShown = false;
    this.audio = null;
    this.byPriority = {};
    const feed = document.getElementById(cfg.ids.alerts);
    if (feed) {  // clicking an alert (not its button) shows its unit
      feed.addEventListener('click', function (e) {
        const item = e.target.closest('[data-unit]');
        if (item && !e.target.closest('button')) {
          controller.layer.search(item.getAttribute('data-unit'));
        }
      });
    }
  }

  Panel.prototype.reset = function () {
    this.atok = '';
    this.otok = '';
  };

  /** set_props for a component of this page (map layers have no DOM element of their id). */
  function setProps(id, props) {
    try {
      window.dash_clientside.set_props(id, props);
    } catch (err) {
      console.warn('qz: cannot update ' + id, err);
    }
  }

  /** Apply a /api/live/panel answer. */
  Panel.prototype.apply = function (d) {
    if (d.atok !== undefined) {
      this.atok = d.atok;
      setProps(this.cfg.ids.alerts, {children: d.alerts});
      setProps(this.cfg.ids.alerts_open, {children: d.open_text});
      this.alarm(d.sos || []);
    }
    if (d.otok !== undefined) {
      this.otok = d.otok;
      const layers = this.cfg.ids.layers;
      Object.keys(layers).forEach(function (name) {
        setProps(layers[name], {data: d.overlays[name]});
      });
      this.byPriority = d.overlays.incidents_by_priority;
    }
  };

  /** Beep for SOS alerts not heard before (only when sound is on). */
  Panel.prototype.alarm = function (sosIds) {
    const fresh = sosIds.filter(function (id) { return !this.sosSeen.has(id); }, this);
    this.sosSeen = new Set(sosIds);  // only the open ones: bounded
    if (!fresh.length || !this.sound) {
      return;
    }
    try {
      this.audio = this.audio || new (window.AudioContext || window.webkitAudioContext)();
      const ctx = this.audio;
      [0, 0.35, 0.7].forEach(function (at) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = 880;
        gain.gain.value = 0.2;
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + 0.2);
      });
    } catch (err) {
      console.warn('qz: SOS sound unavailable', err);
    }
  };

  /** Write the live counts into the [data-count] cells. */
  Panel.prototype.counts = function (c) {
    const root = document.getElementById(this.cfg.ids.counts);
    if (!root) {
      return;
    }
    const all = Object.assign({}, c);
    [1, 2, 3, 4].forEach(function (p) { all['p' + p] = this.byPriority[p] || 0; }, this);
    root.querySelectorAll('[data-count]').forEach(function (el) {
      const v = String(all[el.getAttribute('data-count')]);
      if (el.textContent !== v) {
        el.textContent = v;
      }
    });
    root.classList.toggle('has-sos', c.sos > 0);
  };

  /** Wall clock and the ages in the details card. */
  Panel.prototype.clock = function () {
    const now = this.controller.layer.now();
    const clock = document.getElementById(this.cfg.ids.clock);
    if (clock) {
      clock.textContent = rt.fmtTime(now, this.cfg.tz);
    }
    document.querySelectorAll('.qz-age[data-ts]').forEach(function (el) {
      el.textContent = rt.ageText((now - Number(el.getAttribute('data-ts'))) / 1000, this.cfg.text);
    }, this);
  };

  /** Show "connection lost since HH:MM:SS", or hide it (since = null). */
  Panel.prototype.banner = function (since) {
    const el = document.getElementById(this.cfg.ids.banner);
    if (!el) {
      return;
    }
    if (since === null) {
      if (this.bannerShown) {
        el.hidden = true;
        this.bannerShown = false;
      }
      return;
    }
    el.textContent = this.cfg.text['common.connection_lost'] + ' ' + rt.fmtTime(since, this.cfg.tz);
    el.hidden = false;
    this.bannerShown = true;
  };

  function cfgText(map, key, fallback) {
    const c = rt.live && rt.live.cfg;
    return (c && c[map] && c[map][key]) || fallback;
  }

  window.qzRuntime = Object.assign(rt, {Panel: Panel});
  window.dash_clientside = Object.assign(window.dash_clientside || {}, {
    qz: Object.assign((window.dash_clientside || {}).qz || {}, {
      /** Station jurisdiction outline. */
      liveJurisdictionStyle: function () {
        return {color: '#37474f', weight: 2.5, dashArray: '8 6', fillColor: '#90a4ae', fillOpacity: 0.04};
      },
      /** Patrol zone, coloured by its alert level (1 red … 4 blue, 0 quiet). */
      liveZoneStyle: function (feature) {
        const level = feature.properties.alert_level;
        const colour = ZONE_COLOUR[level];
        return colour ? {color: colour, weight: 2, fillColor: colour, fillOpacity: level <= 2 ? 0.2 : 0.08}
          : {color: '#5c7a99', weight: 1, fillOpacity: 0, dashArray: '2 4'};
      },
      /** Station names as fixed labels; zones as hover tooltips with their level. */
      liveAreaLabel: function (feature, layer) {
        const p = feature.properties;
        if (p.alert_level === undefined) {
          layer.bindTooltip(p.name, {permanent: true, direction: 'center', className: 'qz-area-label'});
        } else {
          layer.bindTooltip(p.name + (p.alert_level ? ' · ' + p.alert_level : ''), {sticky: true});
        }
      },
      /** Open incident: a priority-coloured marker (P1 pulses, via CSS). */
      liveIncidentMarker: function (feature, latlng) {
        const p = feature.properties.priority;
        return L.marker(latlng, {
          icon: L.divIcon({className: 'qz-inc p' + p, html: '<span>' + p + '</span>', iconSize: [22, 22]}),
          keyboard: false, zIndexOffset: -1000,
        });
      },
      /** Incident tooltip: priority, type, address. */
      liveIncidentTooltip: function (feature, layer) {
        const p = feature.properties;
        layer.bindTooltip(cfgText('priority', String(p.priority), 'P' + p.priority) + ' · ' + (p.type_name || p.type) +
          (p.address ? ' · ' + p.address : '') + ' · ' + p.id);
      },
    }),
  });
}());
