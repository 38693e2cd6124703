/**
 * Where live camera tiles appear (the player is 60_camera_player.js):
 *
 * - strips (`.qz-cams-tiles`, dashboard/cameras/components.py): every `poll_ms` a strip asks
 *   /api/live/cameras which units' cameras stream, most relevant first (SOS, on scene, newest), and
 *   keeps a tile for each of the first ones the page's tile limit allows: a tile already playing
 *   stays where it is, one that fell out of the list is closed, a new one opens in the freed place.
 *   `wall` strips follow the station's streams with no one touching them; `incident` strips the
 *   units of the incident selected on /dispatch (camerasFollow, a clientside callback).
 * - the unit card's "live view" button (`.qz-cam-open[data-unit]`) opens one tile over the page.
 */
(function () {
  'use strict';

  const strips = new Map();        // .qz-cams-tiles element -> Strip
  let followed = null;             // the incident selected on /dispatch
  let lastPoll = 0;
  let overlay = null;

  /** @param {HTMLElement} el the strip's tile container */
  function Strip(el) {
    this.el = el;
    this.tiles = new Map();        // unit -> Tile
    this.busy = false;
    this.empty = document.createElement('div');
    this.empty.className = 'qz-cams-empty';
    el.appendChild(this.empty);
  }

  /** The query of the list this strip shows, or null when there is nothing to show. */
  Strip.prototype.query = function () {
    const q = new URLSearchParams();
    if (this.el.dataset.station) {
      q.set('station', this.el.dataset.station);
    }
    if (this.el.dataset.mode === 'incident') {
      if (!followed) {
        return null;
      }
      q.set('incident', followed);
    }
    return q.toString();
  };

  Strip.prototype.refresh = function (cfg) {
    const self = this;
    const q = this.query();
    this.el.toggleAttribute('data-idle', q === null);   // no incident selected: the strip is hidden (camera.css)
    if (q === null) {
      this.apply([], cfg);
      return;
    }
    if (this.busy) {
      return;
    }
    this.busy = true;
    window.qzRuntime.getJSON(cfg.api + '/cameras?' + q, 8000).then(function (got) {
      if (q === self.query()) {     // the incident did not change meanwhile
        self.apply(got.units, cfg);
      }
    }).catch(function (err) {
      console.warn('qz cameras:', err);
    }).finally(function () {
      self.busy = false;
    });
  };

  /** Show the first units the tile limit allows; keep the tiles of those already shown. */
  Strip.prototype.apply = function (units, cfg) {
    const self = this;
    let own = 0;
    this.tiles.forEach(function (t) { own += t.slot ? 1 : 0; });
    const room = Math.max(0, cfg.max - (window.qzCamera.playingCount() - own));
    // a camera not streaming opens no view; one already shown stays, "ended" until it streams again
    const want = units.filter(function (u) { return u.live || self.tiles.has(u.unit); }).slice(0, room);
    const keep = new Set(want.map(function (u) { return u.unit; }));
    this.tiles.forEach(function (tile, unit) {
      if (!keep.has(unit)) {
        tile.close();
        self.tiles.delete(unit);
      }
    });
    want.forEach(function (u) {
      const label = (u.sos ? 'SOS · ' : '') + u.unit + (u.status ? ' · ' + (cfg.status[u.status] || u.status) : '');
      let tile = self.tiles.get(u.unit);
      if (!tile) {
        tile = new window.qzCamera.Tile(self.el, u.unit, label);
        self.tiles.set(u.unit, tile);
        tile.open();
      } else {
        tile.setLabel(label);
      }
      tile.el.classList.toggle('sos', !!u.sos);
    });
    this.el.dataset.units = want.map(function (u) { return u.unit; }).join(' ');
    this.empty.textContent = want.length ? '' : cfg.text['camera.none'];
    this.empty.hidden = !!want.length;
  };

  Strip.prototype.close = function () {
    this.tiles.forEach(function (t) { t.close(); });
    this.tiles.clear();
  };

  /** Find new strips, forget removed ones, and refresh them all every poll_ms. */
  function tick(force) {
    const cfg = window.qzCamera.config();
    strips.forEach(function (strip, el) {
      if (!el.isConnected) {
        strip.close();
        strips.delete(el);
      }
    });
    if (!cfg) {
      return;
    }
    let fresh = false;
    document.querySelectorAll('.qz-cams-tiles').forEach(function (el) {
      if (!strips.has(el)) {
        strips.set(el, new Strip(el));
        fresh = true;
      }
    });
    const now = performance.now();
    if (force || fresh || now - lastPoll >= cfg.poll_ms) {
      lastPoll = now;
      strips.forEach(function (strip) { strip.refresh(cfg); });
    }
  }

  /** The live view of one unit over the page (the card's button); replaces one already open. */
  function openOverlay(unit) {
    const cfg = window.qzCamera.config();
    if (!cfg) {
      return;
    }
    closeOverlay();
    overlay = document.createElement('div');
    overlay.className = 'qz-cam-overlay';
    const head = document.createElement('div');
    head.className = 'qz-cam-overlay-head';
    const title = document.createElement('span');
    title.textContent = unit;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'qz-cam-overlay-close';
    close.textContent = cfg.text['camera.close'];
    close.addEventListener('click', closeOverlay);
    head.append(title, close);
    const body = document.createElement('div');
    body.className = 'qz-cam-overlay-body';
    overlay.append(head, body);
    document.body.appendChild(overlay);
    overlay.tile = new window.qzCamera.Tile(body, unit, unit);
    overlay.tile.open();
  }

  function closeOverlay() {
    if (overlay) {
      overlay.tile.close();
      overlay.remove();
      overlay = null;
    }
  }

  document.addEventListener('click', function (e) {
    const btn = e.target.closest ? e.target.closest('.qz-cam-open[data-unit]') : null;
    if (btn) {
      openOverlay(btn.dataset.unit);
    }
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') {
      closeOverlay();
    }
  });
  setInterval(function () { tick(false); }, 1000);

  window.qzCamera = Object.assign(window.qzCamera || {}, {strips: strips, openOverlay: openOverlay,
    closeOverlay: closeOverlay, refreshStrips: function () { tick(true); }});
  window.dash_clientside = Object.assign(window.dash_clientside || {}, {
    qz: Object.assign((window.dash_clientside || {}).qz || {}, {
      /** /dispatch: the incident strip follows the selected incident. */
      camerasFollow: function (incident) {
        followed = incident || null;
        tick(true);
        return window.dash_clientside.no_update;
      },
    }),
  });
}());
