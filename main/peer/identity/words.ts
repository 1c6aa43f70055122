import { createHash } from 'node:crypto';

/**
 * Safety words: how a person sees a device's identity. Two people compare the words on their
 * screens (aloud or side by side) instead of reading a raw key.
 *
 * Invariants: exactly 256 words, so one byte of hash picks one word with no bias; all distinct;
 * 3 to 7 lowercase letters; common nouns chosen to be easy to say and hear, with no homophones
 * (no "bear"/"bare") and no near pairs (no "stork"/"storm"). The list is part of the fingerprint
 * format: changing or reordering a word changes every fingerprint shown, so never edit it in place.
 */
export const WORDLIST: readonly string[] = Object.freeze([
  'acorn', 'almond', 'amber', 'anchor', 'apple', 'apron', 'arrow', 'atlas',
  'attic', 'autumn', 'badger', 'bagel', 'bamboo', 'banana', 'banjo', 'barrel',
  'basket', 'beacon', 'beetle', 'bicycle', 'birch', 'biscuit', 'bison', 'blanket',
  'bottle', 'bridge', 'bronze', 'brook', 'bucket', 'bugle', 'butter', 'button',
  'cabin', 'cactus', 'camel', 'camera', 'candle', 'canoe', 'canyon', 'carpet',
  'carrot', 'castle', 'cello', 'chair', 'cheese', 'cheetah', 'chimney', 'circle',
  'cliff', 'clock', 'cloud', 'clover', 'cobalt', 'cocoa', 'coffee', 'comet',
  'compass', 'cookie', 'copper', 'cotton', 'crab', 'cradle', 'crayon', 'cricket',
  'crimson', 'crown', 'daisy', 'dolphin', 'donkey', 'dragon', 'drum', 'eagle',
  'easel', 'elbow', 'ember', 'emerald', 'engine', 'falcon', 'feather', 'fern',
  'ferret', 'fiddle', 'finch', 'firefly', 'flag', 'flame', 'flute', 'forest',
  'fossil', 'fox', 'frog', 'frost', 'funnel', 'galaxy', 'garden', 'garlic',
  'gecko', 'ginger', 'giraffe', 'glacier', 'globe', 'goat', 'golden', 'goose',
  'grape', 'guitar', 'hammer', 'hamster', 'harp', 'hawk', 'hazel', 'helmet',
  'heron', 'hippo', 'honey', 'hornet', 'igloo', 'indigo', 'island', 'jacket',
  'jaguar', 'jelly', 'jigsaw', 'kayak', 'kettle', 'kitten', 'kiwi', 'koala',
  'ladder', 'lagoon', 'lamp', 'lantern', 'lemon', 'lemur', 'leopard', 'lily',
  'lion', 'lizard', 'lobster', 'lotus', 'magnet', 'magpie', 'mango', 'maple',
  'marble', 'meadow', 'melon', 'meteor', 'mirror', 'muffin', 'museum', 'napkin',
  'needle', 'noodle', 'oak', 'ocean', 'octopus', 'olive', 'onion', 'orange',
  'orbit', 'orchid', 'ostrich', 'otter', 'owl', 'oyster', 'paddle', 'palace',
  'pancake', 'panda', 'papaya', 'parrot', 'pasta', 'peanut', 'pebble', 'pelican',
  'pencil', 'penguin', 'pepper', 'piano', 'pickle', 'pillow', 'planet', 'pocket',
  'pony', 'potato', 'pretzel', 'puffin', 'pumpkin', 'puppy', 'puzzle', 'quail',
  'quartz', 'rabbit', 'radio', 'radish', 'rainbow', 'raven', 'ribbon', 'river',
  'robin', 'rocket', 'saddle', 'salad', 'salmon', 'scarf', 'shovel', 'silver',
  'sled', 'sloth', 'snail', 'sparrow', 'spider', 'sponge', 'spoon', 'squid',
  'stamp', 'statue', 'storm', 'summit', 'sunset', 'swan', 'tablet', 'teapot',
  'temple', 'tent', 'thunder', 'ticket', 'tiger', 'toast', 'tomato', 'tower',
  'tractor', 'trumpet', 'tuba', 'tulip', 'tundra', 'tunnel', 'turnip', 'turtle',
  'valley', 'velvet', 'violin', 'volcano', 'waffle', 'wagon', 'wallet', 'walnut',
  'walrus', 'whistle', 'willow', 'window', 'winter', 'wolf', 'zebra', 'zipper',
]);

/** SHA-256 yields 32 bytes, so at most 32 words can be drawn from one hash. */
const MAX_WORDS = 32;

/** The first `count` bytes of SHA-256(publicKey), each mapped to a word. */
export function fingerprintWords(publicKey: Uint8Array, count = 6): string[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORDS) {
    throw new RangeError(`fingerprint word count must be an integer 1..${MAX_WORDS}, got ${count}`);
  }
  const digest = createHash('sha256').update(publicKey).digest();
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    // Both lookups are in range: i < 32 = digest length, and a byte < 256 = WORDLIST length.
    words.push(WORDLIST[digest[i]!]!);
  }
  return words;
}

/** Six safety words joined by '-' (48 bits of the key's hash), like "golden-grape-jigsaw-…". */
export function fingerprintText(publicKey: Uint8Array): string {
  return fingerprintWords(publicKey, 6).join('-');
}
