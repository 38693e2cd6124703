/**
 * The side panel / wall overlays: counts, alert feed, overlay layers, clock, banner, SOS sound.
 *
 * The alert feed arrives as Dash components (built in Python, so acknowledge buttons are
 * ordinary pattern-matching callbacks) and overlays as GeoJSON; both are pushed with
 * dash_clientside.set_props only when the server's token says they changed.
 */
(function () {
  'use strict';

  const rt = window.qzRuntime;

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

  /** Apply a /api/live/panel answer. */
  Panel.prototype.apply = function (d) {
    if (d.atok !== undefined) {
      this.atok = d.atok;
      rt.setProps(this.cfg.ids.alerts, {children: d.alerts});
      rt.setProps(this.cfg.ids.alerts_open, {children: d.open_text});
      this.alarm(d.sos || []);
    }
    if (d.otok !== undefined) {
      this.otok = d.otok;
      const layers = this.cfg.ids.layers;
      Object.keys(layers).forEach(function (name) {
        rt.setProps(layers[name], {data: d.overlays[name]});
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
    rt.banner(this.cfg.ids.banner, since, this.cfg.text['common.connection_lost'], this.cfg.tz);
  };

  window.qzRuntime = Object.assign(rt, {Panel: Panel});
}());
