/**
 * The dispatch queue's "waiting m:ss" figures, advanced in the browser once a second.
 *
 * The server redraws the queue only when something a commander acts on changes (so a card
 * is never replaced under the mouse); between redraws this keeps each card's wait current.
 * Each figure carries the call time and the server's clock at drawing (data-since,
 * data-at, ms), so a browser clock that is off does not matter.
 */
(function () {
  'use strict';

  /** @param {number} s seconds @returns {string} m:ss or h:mm:ss */
  function fmt(s) {
    const t = Math.floor(s);
    const h = Math.floor(t / 3600);
    const m = Math.floor((t % 3600) / 60);
    const ss = String(t % 60).padStart(2, '0');
    return h ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll('.dp-wait[data-since]').forEach(function (el) {
      if (el.dataset.seen === undefined || el.dataset.seenAt !== el.dataset.at) {
        el.dataset.seen = String(now);      // first look at this drawing of the card
        el.dataset.seenAt = el.dataset.at;
      }
      const waited = (Number(el.dataset.at) - Number(el.dataset.since) + now - Number(el.dataset.seen)) / 1000;
      el.textContent = el.dataset.label + ' ' + fmt(Math.max(0, waited));
    });
  }

  window.setInterval(tick, 1000);
})();
