"""Repeated tips: found by blind-indexed names and ID numbers and by text, merged keeping the
first reporter."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from fengqiao.tips import jobs, linking, services
from fengqiao.tips.models import Accused, Status, Tip

from .factories import file_tip, raw_row

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
STORY = "枫源村村霸张某某长期强揽村里的土方工程，不给就砸车打人，还向商户收取所谓管理费。"
RETOLD = "村霸张某某在枫源村强揽土方工程，谁不给就砸车打人，并向商户收取管理费。"
UNRELATED = "店口镇某娱乐场所组织赌博，每晚有几十人参与，附近居民深受其扰。"


def accused(name: str = "", id_number: str = "") -> list[services.AccusedInput]:
    return [services.AccusedInput(name=name, id_number=id_number)]


def test_bigram_jaccard_scores_a_retelling_high_and_another_story_low():
    same = linking.jaccard(linking.bigrams(STORY), linking.bigrams(RETOLD))
    other = linking.jaccard(linking.bigrams(STORY), linking.bigrams(UNRELATED))
    assert same >= linking.TEXT_THRESHOLD > other
    assert linking.jaccard(linking.bigrams("张三，李四"), linking.bigrams("张三 李四")) == 1.0
    assert linking.jaccard(frozenset(), linking.bigrams(STORY)) == 0.0


def test_the_same_name_matches_by_blind_index_without_decrypting(django_assert_num_queries):
    first = file_tip(description=UNRELATED, accused=accused("张 三")).tip
    second = file_tip(description="另一件事，与前一件无关的内容描述。", accused=accused("张三")).tip
    row = raw_row(Accused, second.accused.get().pk)
    assert "张三" not in str(row) and row["name_index"]
    matches = linking.find_matches(second)
    assert [(m.other_id, m.reasons) for m in matches] == [(first.pk, {"name"})]


def test_the_same_id_number_matches_whatever_its_spelling():
    first = file_tip(description=UNRELATED, accused=accused(id_number=ID_NUMBER)).tip
    second = file_tip(
        description="又是一件不同的事情，描述完全不同。",
        accused=accused(name="李四", id_number=ID_NUMBER.lower()),
    ).tip
    [match] = linking.find_matches(second)
    assert match.other_id == first.pk and match.reasons == {"id_number"}


def test_a_retold_story_in_the_same_county_matches_by_text():
    first = file_tip(description=STORY).tip
    file_tip(description=UNRELATED)
    # The same words about a place in another county are not compared at all.
    file_tip(description=STORY, region_code="330602001")
    second = file_tip(description=RETOLD).tip
    [match] = linking.find_matches(second)
    assert match.other_id == first.pk and match.reasons == {"text"} and match.score >= 0.35


def test_the_job_stores_suggestions_after_commit_and_the_triager_sees_them(
    anti_gang_zhuji, anti_gang_yuecheng, django_capture_on_commit_callbacks
):
    first = file_tip(description=STORY, accused=accused("张三")).tip
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = file_tip(description=RETOLD, accused=accused("张三")).tip
    assert len(callbacks) == 1
    [candidate] = services.candidates_for(second, membership=anti_gang_zhuji.membership)
    assert candidate.tip == first and candidate.reasons == ["name", "text"]
    # The earlier tip shows the later one as well.
    [back] = services.candidates_for(first, membership=anti_gang_zhuji.membership)
    assert back.tip == second
    with pytest.raises(services.TipNotFound):
        services.candidates_for(second, membership=anti_gang_yuecheng.membership)
    # Idempotent: running the job again changes nothing.
    jobs.suggest_links(tip_id=second.pk)
    assert second.suggestions.count() == 1


def test_candidates_hide_tips_the_triager_may_not_see(anti_gang_zhuji):
    hidden = file_tip(description=STORY, officials_region_code="330681").tip  # at the city
    second = file_tip(description=RETOLD).tip
    services.refresh_link_suggestions(second)
    assert second.suggestions.get().other == hidden
    assert services.candidates_for(second, membership=anti_gang_zhuji.membership) == []


def at(day: datetime.date):
    moment = datetime.datetime(day.year, day.month, day.day, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
    return time_machine.travel(moment, tick=False)


def test_merging_keeps_the_first_reporter_in_either_direction(anti_gang_zhuji, police_fengqiao):
    triager = anti_gang_zhuji.membership
    with at(datetime.date(2026, 3, 1)):
        earliest = file_tip(description=STORY).tip
    with at(datetime.date(2026, 3, 5)):
        later = file_tip(description=RETOLD).tip
        services.accept_tip(later, membership=triager)
    with at(datetime.date(2026, 3, 9)):
        latest = file_tip(description=RETOLD).tip
    # The earliest report is merged into the later one that is already being handled …
    services.merge_tip(earliest, into=later, membership=triager)
    later.refresh_from_db()
    assert later.first_report == earliest and later.first_reporter_tip == earliest
    # … and a still later one changes nothing about who came first.
    services.merge_tip(latest, into=later, membership=triager)
    later.refresh_from_db()
    assert later.first_report == earliest
    assert set(later.duplicates.values_list("pk", flat=True)) == {earliest.pk, latest.pk}
    earliest.refresh_from_db()
    assert earliest.status == Status.MERGED and earliest.merged_into == later


def test_merging_into_a_merged_tip_lands_on_the_survivor(anti_gang_zhuji):
    triager = anti_gang_zhuji.membership
    survivor = file_tip(description=STORY).tip
    middle = file_tip(description=RETOLD).tip
    services.merge_tip(middle, into=survivor, membership=triager)
    last = file_tip(description=RETOLD).tip
    services.merge_tip(last, into=Tip.objects.get(pk=middle.pk), membership=triager)
    assert Tip.objects.get(pk=last.pk).merged_into == survivor
    assert survivor.first_report is None


def test_a_merged_reporter_follows_the_survivor_and_its_handlers_answer(
    anti_gang_zhuji, police_fengqiao
):
    triager, handler = anti_gang_zhuji.membership, police_fengqiao.membership
    survivor = file_tip(description=STORY).tip
    duplicate = file_tip(description=RETOLD)
    services.merge_tip(duplicate.tip, into=survivor, membership=triager)
    services.accept_tip(survivor, membership=triager)
    from fengqiao.regions.models import Unit, UnitKind

    station = Unit.objects.get(kind=UnitKind.POLICE_STATION, region__code="330681109")
    services.assign_tip(survivor, membership=triager, unit=station)
    view = services.lookup_tip(duplicate.receipt)
    assert view.status == Status.MERGED and view.can_reply
    assert survivor.citizen_status() not in view.status_text  # survivor moved on since
    assert Tip.objects.get(pk=survivor.pk).citizen_status() in view.status_text
    # The survivor's handler sees the duplicate and may write to its reporter.
    assert Tip.objects.visible_to(handler).filter(pk=duplicate.tip.pk).exists()
    services.send_message(duplicate.tip, membership=handler, body="您的举报已与同一事项合并办理。")
    assert services.lookup_tip(duplicate.receipt).messages[-1].sender == "handler"


def test_a_tip_cannot_be_merged_into_itself_or_a_closed_tip(anti_gang_zhuji):
    triager = anti_gang_zhuji.membership
    tip = file_tip().tip
    with pytest.raises(services.TipNotFound):
        services.merge_tip(tip, into=tip, membership=triager)
    rejected = services.reject_tip(file_tip().tip, membership=triager, reason="不属于")
    with pytest.raises(services.TipRefused) as caught:
        services.merge_tip(tip, into=rejected, membership=triager)
    assert caught.value.code == "target_closed"
