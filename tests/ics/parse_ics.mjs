// A second, independent reading of Lightbox's .ics files, with ical.js (the parser inside Thunderbird).
// Reads one calendar on stdin and prints what a client would show, as JSON. Times are converted to UTC
// through the VTIMEZONE the file itself carries, so a wrong zone definition shows up as a wrong time.
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const calendar = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));

for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}

const when = (time) => time && {
  utc: time.toJSDate().toISOString(),
  local: time.toString(),
  zone: time.zone ? time.zone.tzid : null,
  date_only: time.isDate,
};

const people = (component, name) => component.getAllProperties(name).map((property) => ({
  address: property.getFirstValue(),
  cn: property.getParameter("cn") || null,
  role: property.getParameter("role") || null,
  partstat: property.getParameter("partstat") || null,
  rsvp: property.getParameter("rsvp") || null,
  cutype: property.getParameter("cutype") || null,
}));

const out = {
  method: calendar.getFirstPropertyValue("method"),
  name: calendar.getFirstPropertyValue("x-wr-calname"),
  refresh: calendar.getFirstPropertyValue("refresh-interval")?.toString() ?? null,
  timezones: calendar.getAllSubcomponents("vtimezone").map((zone) => zone.getFirstPropertyValue("tzid")),
  events: calendar.getAllSubcomponents("vevent").map((component) => {
    const event = new ICAL.Event(component);
    return {
      uid: event.uid,
      sequence: event.sequence,
      summary: event.summary,
      description: event.description,
      location: event.location,
      url: component.getFirstPropertyValue("url"),
      status: component.getFirstPropertyValue("status"),
      start: when(event.startDate),
      end: when(event.endDate),
      recurring: event.isRecurring(),
      organizer: people(component, "organizer")[0] ?? null,
      attendees: people(component, "attendee"),
      alarms: component.getAllSubcomponents("valarm").map((alarm) => alarm.getFirstPropertyValue("trigger").toString()),
    };
  }),
  todos: calendar.getAllSubcomponents("vtodo").map((component) => ({
    uid: component.getFirstPropertyValue("uid"),
    summary: component.getFirstPropertyValue("summary"),
    status: component.getFirstPropertyValue("status"),
    priority: component.getFirstPropertyValue("priority"),
    due: when(component.getFirstPropertyValue("due")),
  })),
};
process.stdout.write(JSON.stringify(out));
