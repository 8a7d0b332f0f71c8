import { hotSpots } from './lib/cpu-profile.ts';
for (const f of process.argv.slice(2)) { for (const h of hotSpots(f, 18)) console.log(`${h.share}%\t${h.selfMs}ms\t${h.fn}\t${h.where}`); }
