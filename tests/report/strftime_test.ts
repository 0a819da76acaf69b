import assert from "node:assert/strict";
import { strftime } from "../../lib/report/strftime.ts";

// Expected strings come from GNU coreutils `date` 9.1 and from glibc 2.36's
// strftime(3) on Debian 12, both with TZ=UTC, e.g.
//   TZ=UTC date -d @1795481985 +'%a|%A|...'
// The `{ utc: true }` option keeps the tests independent of the machine's
// time zone.

const ALL_CONVERSIONS = "%a|%A|%b|%B|%c|%C|%d|%D|%e|%F|%g|%G|%h|%H|%I|%j|%k|" +
  "%l|%m|%M|%n|%p|%P|%r|%R|%s|%S|%t|%T|%u|%U|%V|%w|%W|%x|%X|%y|%Y|%z|%Z|%%";

/** `date -d @epoch` as a Date. */
function at(epochSeconds: number): Date {
  return new Date(epochSeconds * 1000);
}

Deno.test("strftime() prints iperf3's default --timestamps prefix", () => {
  assert.equal(
    strftime("%c ", at(1795481985), { utc: true }),
    "Tue Nov 24 00:59:45 2026 ",
  );
});

Deno.test("strftime() matches date(1) for every conversion", () => {
  const cases: [number, string][] = [
    [
      1795481985,
      "Tue|Tuesday|Nov|November|Tue Nov 24 00:59:45 2026|20|24|11/24/26|24|" +
      "2026-11-24|26|2026|Nov|00|12|328| 0|12|11|59|\n|AM|am|12:59:45 AM|" +
      "00:59|1795481985|45|\t|00:59:45|2|47|48|2|47|11/24/26|00:59:45|26|" +
      "2026|+0000|UTC|%",
    ],
    [
      1772719503,
      "Thu|Thursday|Mar|March|Thu Mar  5 14:05:03 2026|20|05|03/05/26| 5|" +
      "2026-03-05|26|2026|Mar|14|02|064|14| 2|03|05|\n|PM|pm|02:05:03 PM|" +
      "14:05|1772719503|03|\t|14:05:03|4|09|10|4|09|03/05/26|14:05:03|26|" +
      "2026|+0000|UTC|%",
    ],
    [
      1798761599,
      "Thu|Thursday|Dec|December|Thu Dec 31 23:59:59 2026|20|31|12/31/26|31|" +
      "2026-12-31|26|2026|Dec|23|11|365|23|11|12|59|\n|PM|pm|11:59:59 PM|" +
      "23:59|1798761599|59|\t|23:59:59|4|52|53|4|52|12/31/26|23:59:59|26|" +
      "2026|+0000|UTC|%",
    ],
    [
      1735516800,
      "Mon|Monday|Dec|December|Mon Dec 30 00:00:00 2024|20|30|12/30/24|30|" +
      "2024-12-30|25|2025|Dec|00|12|365| 0|12|12|00|\n|AM|am|12:00:00 AM|" +
      "00:00|1735516800|00|\t|00:00:00|1|52|01|1|53|12/30/24|00:00:00|24|" +
      "2024|+0000|UTC|%",
    ],
    [
      -1,
      "Wed|Wednesday|Dec|December|Wed Dec 31 23:59:59 1969|19|31|12/31/69|31|" +
      "1969-12-31|70|1970|Dec|23|11|365|23|11|12|59|\n|PM|pm|11:59:59 PM|" +
      "23:59|-1|59|\t|23:59:59|3|52|01|3|52|12/31/69|23:59:59|69|1969|" +
      "+0000|UTC|%",
    ],
  ];
  for (const [epoch, expected] of cases) {
    assert.equal(
      strftime(ALL_CONVERSIONS, at(epoch), { utc: true }),
      expected,
      `epoch ${epoch}`,
    );
  }
});

Deno.test("strftime() applies glibc's padding flags and widths", () => {
  assert.equal(
    strftime(
      "%-d|%_d|%0e|%-e|%-H|%_H|%-I|%-l|%0k|%-j|%_j|%5d|%_5d|%-5d|%05e|%3Y|" +
        "%-10Y|%_10Y|%010Y|%#10s|%05s",
      at(1772719503),
      { utc: true },
    ),
    "5| 5|05|5|14|14|2|2|14|64| 64|00005|    5|    5|00005|2026|      2026|" +
      "      2026|0000002026|1772719503|1772719503",
  );
  assert.equal(
    strftime("%5s|%05s|%z|%-z|%_7z|%07z|%7z", at(-1), { utc: true }),
    "   -1|000-1|+0000|+0|      +      0|000000+0000000|      +0000000",
  );
});

Deno.test("strftime() applies glibc's case flags", () => {
  assert.equal(
    strftime(
      "%^a|%^A|%#a|%#b|%^B|%^p|%#p|%P|%^P|%#Z|%^Z|%10a|%010a|%-10a|%^10c|" +
        "%10T|%010D",
      at(1772719503),
      { utc: true },
    ),
    "THU|THURSDAY|THU|MAR|MARCH|PM|pm|pm|pm|utc|UTC|       Thu|0000000Thu|" +
      "       Thu|THU MAR  5 14:05:03 2026|  14:05:03|0003/05/26",
  );
});

Deno.test("strftime() accepts the E and O modifiers where glibc does", () => {
  assert.equal(
    strftime(
      "%Ec|%EC|%Ex|%EX|%Ey|%EY|%Od|%Oe|%OH|%OI|%Om|%OM|%OS|%Ou|%OU|%OV|%Ow|" +
        "%OW|%Oy",
      at(1772719503),
      { utc: true },
    ),
    "Thu Mar  5 14:05:03 2026|20|03/05/26|14:05:03|26|2026|05| 5|14|02|03|" +
      "05|03|4|09|10|4|09|26",
  );
});

Deno.test("strftime() copies unknown conversions literally", () => {
  assert.equal(
    strftime("%Q|%5Q|%^q|%Ed|%OY|%E%|%+4Y|%|%-", at(1772719503), {
      utc: true,
    }),
    "%Q|  %5Q|%^Q|%Ed|%OY|%|%+4Y|%|%-",
  );
  assert.equal(strftime("%", at(0), { utc: true }), "%");
  assert.equal(
    strftime("100%% caf\u00e9", at(0), { utc: true }),
    "100% caf\u00e9",
  );
  assert.equal(strftime("", at(0), { utc: true }), "");
});

Deno.test("strftime() handles years before 1000 and before year 1", () => {
  assert.equal(
    strftime("%Y|%C|%y|%G|%g|%F|%s|%5C", at(-62000000000), { utc: true }),
    "5|0|05|5|05|5-04-19|-62000000000|00000",
  );
  assert.equal(
    strftime("%Y|%C|%y|%G|%g|%F|%s", at(-70000000000), { utc: true }),
    "-249|-3|51|-249|51|-249-10-15|-70000000000",
  );
});

Deno.test("strftime() uses the local time zone by default", () => {
  const date = at(1772719503);
  const pad = (n: number) => String(n).padStart(2, "0");
  assert.equal(
    strftime("%Y-%m-%d %H:%M:%S %s", date),
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-` +
      `${pad(date.getDate())} ${pad(date.getHours())}:` +
      `${pad(date.getMinutes())}:${pad(date.getSeconds())} 1772719503`,
  );
  const east = -date.getTimezoneOffset();
  const minutes = Math.abs(east);
  assert.equal(
    strftime("%z", date),
    (east < 0 ? "-" : "+") + pad(Math.floor(minutes / 60)) + pad(minutes % 60),
  );
  assert.match(strftime("%Z", date), /^(?:[A-Za-z]+|[+-]\d{2}(?:\d{2})?)$/);
});

Deno.test("strftime() rejects an invalid date", () => {
  assert.throws(() => strftime("%c", new Date(NaN)), {
    name: "RangeError",
    message: "Cannot format date: invalid time value",
  });
});

Deno.test("strftime() clamps field widths to 1024", () => {
  assert.equal(
    strftime("%999999999d", at(0), { utc: true }),
    "0".repeat(1022) + "01",
  );
});
