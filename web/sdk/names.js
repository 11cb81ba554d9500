// @ts-check
/**
 * names.js: a friendly name for someone known only by an id (an anonymous visitor's `g_…` guest
 * id, a site's user id without a name), so UIs never show the raw id as a name. The same id always
 * gets the same name: an adjective and an animal chosen by a hash of the id.
 *
 *   friendlyName('g_374d…')            // "Visitor · Amber Fox"
 *   friendlyName('g_374d…', 'Guest')   // "Guest · Amber Fox"
 */

const ADJECTIVES = [
  'Amber', 'Azure', 'Bold', 'Brave', 'Bright', 'Calm', 'Clever', 'Coral', 'Cosy', 'Crimson',
  'Curious', 'Daring', 'Dawn', 'Eager', 'Fleet', 'Gentle', 'Golden', 'Happy', 'Hazel', 'Honest',
  'Indigo', 'Jade', 'Jolly', 'Keen', 'Kind', 'Lively', 'Lucky', 'Lunar', 'Maple', 'Merry',
  'Mint', 'Misty', 'Noble', 'Olive', 'Patient', 'Plum', 'Polar', 'Quick', 'Quiet', 'Rapid',
  'Rosy', 'Ruby', 'Sage', 'Scarlet', 'Silver', 'Sky', 'Sleek', 'Snowy', 'Sunny', 'Swift',
  'Teal', 'Tidy', 'Topaz', 'Velvet', 'Violet', 'Warm', 'Wise', 'Witty', 'Zesty', 'Zippy',
];

const ANIMALS = [
  'Badger', 'Bear', 'Beaver', 'Bison', 'Crane', 'Deer', 'Dolphin', 'Eagle', 'Falcon', 'Ferret',
  'Finch', 'Fox', 'Gecko', 'Heron', 'Hare', 'Hedgehog', 'Ibis', 'Jay', 'Koala', 'Lark',
  'Lemur', 'Lynx', 'Marten', 'Moose', 'Newt', 'Otter', 'Owl', 'Panda', 'Puffin', 'Quail',
  'Rabbit', 'Raven', 'Robin', 'Salmon', 'Seal', 'Sparrow', 'Stork', 'Swan', 'Tapir', 'Tiger',
  'Toucan', 'Turtle', 'Walrus', 'Whale', 'Wolf', 'Wombat', 'Wren', 'Yak', 'Zebra', 'Kiwi',
];

/** FNV-1a over the id's UTF-16 code units: 32 bits, the same in every browser. @param {string} s */
function hash(s) {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x;
}

/**
 * "Visitor · Amber Fox": a name for an id, stable for that id (3,000 combinations).
 * @param {string} id a user or guest id @param {string} [prefix] what they are ("Visitor")
 * @returns {string}
 */
export function friendlyName(id, prefix = 'Visitor') {
  const x = hash(String(id || ''));
  const adjective = ADJECTIVES[x % ADJECTIVES.length];
  const animal = ANIMALS[Math.floor(x / ADJECTIVES.length) % ANIMALS.length];
  return prefix ? `${prefix} · ${adjective} ${animal}` : `${adjective} ${animal}`;
}
