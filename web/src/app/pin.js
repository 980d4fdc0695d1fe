// PIN rules, as the server checks them (device.CheckPIN): five digits, not all equal,
// not an ascending or descending run (wrapping: 90123 is a run).

/** Whether pin is five digits that the server accepts as a new PIN. */
export function strongPIN(pin) {
  if (!/^[0-9]{5}$/.test(pin)) return false;
  let equal = true, up = true, down = true;
  for (let i = 1; i < pin.length; i++) {
    const a = pin.charCodeAt(i - 1) - 48, b = pin.charCodeAt(i) - 48;
    equal &&= a === b;
    up &&= b === (a + 1) % 10;
    down &&= b === (a + 9) % 10;
  }
  return !(equal || up || down);
}
