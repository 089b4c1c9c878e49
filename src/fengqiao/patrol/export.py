"""A day's track as files: GPX 1.1 (every point the phone sent, one trk per patrol) and
GeoJSON (one feature per patrol, the lines the map draws)."""

from __future__ import annotations

from typing import Any

import gpxpy.gpx

from fengqiao.clock import LOCAL_TZ
from fengqiao.patrol import tracks
from fengqiao.patrol.whereabouts import DayTrack, Piece


def _title(piece: Piece) -> tuple[str, str]:
    """(name, description) of a piece: the patrol and its local times, or "outside patrols"."""
    patrol = piece.patrol
    if patrol is None:
        return "巡查外轨迹", "positions sent outside any patrol"
    start = patrol.started_at.astimezone(LOCAL_TZ).strftime("%H:%M")
    end = patrol.ended_at.astimezone(LOCAL_TZ).strftime("%H:%M") if patrol.ended_at else "进行中"
    return f"巡查 #{patrol.id} {start}–{end}", f"patrol {patrol.id}"


def gpx(track: DayTrack) -> str:
    """GPX 1.1: one <trk> per patrol (and one for points outside patrols), a <trkseg> per
    unbroken piece, a <trkpt> with its UTC time for every stored point."""
    document = gpxpy.gpx.GPX()
    document.creator = "Fengqiao"
    document.name = f"{track.name} {track.day.isoformat()}"
    for piece in track.pieces:
        name, description = _title(piece)
        trk = gpxpy.gpx.GPXTrack(name=name, description=description)
        for segment in tracks.gap_segments([p.track_point() for p in piece.points]):
            trkseg = gpxpy.gpx.GPXTrackSegment()
            trkseg.points = [
                gpxpy.gpx.GPXTrackPoint(latitude=p.lat, longitude=p.lng, time=p.at) for p in segment
            ]
            trk.segments.append(trkseg)
        document.tracks.append(trk)
    return document.to_xml(version="1.1")


def geojson(track: DayTrack) -> dict[str, Any]:
    """A FeatureCollection with one MultiLineString feature per patrol (and one for points
    outside patrols), each with its times and totals."""
    features = []
    for piece in track.pieces:
        patrol = piece.patrol
        name, _ = _title(piece)
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "MultiLineString",
                    "coordinates": tracks.lines([p.track_point() for p in piece.points]),
                },
                "properties": {
                    "user_id": track.user_id,
                    "name": track.name,
                    "date": track.day.isoformat(),
                    "title": name,
                    "patrol_id": patrol.id if patrol else None,
                    "started_at": patrol.started_at.isoformat() if patrol else None,
                    "ended_at": patrol.ended_at.isoformat() if patrol and patrol.ended_at else None,
                    "first_at": piece.points[0].at.isoformat(),
                    "last_at": piece.points[-1].at.isoformat(),
                    "distance_m": round(piece.state.distance_m, 1),
                    "duration_s": patrol.duration_s
                    if patrol
                    else round((piece.points[-1].at - piece.points[0].at).total_seconds()),
                    "points": len(piece.points),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
