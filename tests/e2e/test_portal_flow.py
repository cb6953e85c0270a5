"""The whole flow in a real browser: family portal and back office side by side."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or, with CI=true, fails) and says why
    expect = None  # type: ignore[assignment]

from examples.web.seed import demo_picture

from contactbook.testing import sample_pdf

from .conftest import FAMILY_PASSWORD, STAFF_PASSWORD, LiveServer, national_id, screenshot

pytestmark = pytest.mark.slow

EMAIL = "ty.wang@example.com"


def png(name: str, seed: int = 0) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/png", "buffer": demo_picture(seed=seed)}


def pdf(name: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "application/pdf", "buffer": sample_pdf()}


def staff_login(
    page: Any, live_server: LiveServer, *, shoot: bool = False, username: str = "klp.reviewer"
) -> None:
    """Password, then TOTP: the first sign-in enrolls (the key is read off the page;
    the code is the one for the server's clock)."""
    page.goto("/admin/login")
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="登入").click()
    page.wait_for_url("**/admin/totp")
    secret = page.locator("#totp-secret").inner_text().strip()
    if shoot:
        screenshot(page, "admin-totp-enrollment")
    page.get_by_label("驗證碼").fill(pyotp.TOTP(secret).at(live_server.clock.now()))
    page.get_by_role("button", name="驗證").click()
    page.wait_for_url("**/admin")


def family_login(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("密碼").fill(FAMILY_PASSWORD)
    page.get_by_role("button", name="登入").click()
    page.wait_for_url("**/contactbook")


def test_register_apply_post_review_and_delivery(live_server: LiveServer, new_page: Any) -> None:
    family = new_page()
    family.goto("/")
    expect(family.get_by_role("heading", name="訊息公告")).to_be_visible()
    expect(family.get_by_role("heading", name="申辦流程")).to_be_visible()
    screenshot(family, "portal-home")

    # 註冊: 個資聲明 with the consent checkbox → form → 註冊成功
    family.get_by_role("link", name="註冊", exact=True).first.click()
    family.wait_for_url("**/register")
    expect(family.get_by_text("個人資料蒐集告知聲明").first).to_be_visible()
    family.get_by_role("checkbox").check()
    screenshot(family, "portal-consent")
    family.get_by_role("button", name="下一步").click()
    family.wait_for_url("**/register/form")
    family.get_by_label("姓名").fill("王小明")
    family.get_by_label("出生日期").fill("1985-03-14")
    family.get_by_label("身分證號").fill("A123456789")
    family.get_by_label("Email").fill(EMAIL)
    family.locator("#password").fill(FAMILY_PASSWORD)
    family.get_by_label("確認密碼").fill(FAMILY_PASSWORD)
    family.get_by_label("手機").fill("0912345678")
    family.get_by_label("聯絡簿交付收容人時通知我").check()
    screenshot(family, "portal-register")
    family.get_by_role("button", name="送出").click()
    expect(family.get_by_text("註冊成功，帳號驗證信件已寄至信箱")).to_be_visible()
    screenshot(family, "portal-registered")

    # the verification link, read from the folder outbox
    (mail,) = live_server.mails_to(EMAIL)
    assert "註冊通知" in str(mail["Subject"])
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    link = re.search(r"https?://\S+/verify\?token=\S+", body.get_content())
    assert link is not None and link.group(0).startswith(live_server.url)
    family.goto(link.group(0))
    expect(family.get_by_text("帳號驗證成功")).to_be_visible()
    screenshot(family, "portal-verified")

    family_login(family, EMAIL)

    # 服務項目申請: facility + 呼號 → 查詢 → masked inmate → relationship → services → evidence
    family.goto("/services/apply")
    family.get_by_label("矯正機關").select_option(label="基隆監獄")
    family.get_by_label("呼號").fill("0609")
    family.get_by_role("button", name="查詢").click()
    expect(family.locator("#target")).to_have_text("基隆監獄 0609李○○")
    assert "李大華" not in family.content()
    family.get_by_label("與收容人關係").select_option(label="子女")
    assert family.get_by_label("家庭聯絡簿").is_checked()
    family.get_by_label("身分證明文件").set_input_files(pdf("身分證.pdf"))
    family.get_by_label("關係證明文件").set_input_files(png("戶口名簿.png", 1))
    family.get_by_label("正面清晰照片").set_input_files(png("正面照.png", 2))
    screenshot(family, "portal-apply")
    family.get_by_role("button", name="確認").click()
    expect(family.get_by_text("服務項目申請已送出，審核結果將寄至您信箱。")).to_be_visible()
    family.goto("/services/status")
    row = family.locator("tbody tr").first
    assert "基隆監獄" in row.inner_text() and "未審核" in row.inner_text()

    # the back office: staff with TOTP approves the application
    staff = new_page()
    staff_login(staff, live_server, shoot=True)
    screenshot(staff, "admin-home")
    staff.get_by_role("link", name="服務項目管理").first.click()
    staff.locator("tbody tr", has_text="0609 李○○").get_by_role("link", name="審核").click()
    expect(staff.get_by_text("身分證.pdf")).to_be_visible()
    screenshot(staff, "admin-application-review")
    staff.get_by_label("審核結果").select_option("approve")
    staff.get_by_role("button", name="審核").click()
    expect(staff.get_by_text("服務項目申請已審核通過。")).to_be_visible()

    family.goto("/services/status")
    assert "審核通過" in family.locator("tbody tr").first.inner_text()
    screenshot(family, "portal-application-status")

    # 發佈家庭聯絡簿 with a photo; the counter follows the typing
    family.goto("/contactbook")
    family.get_by_role("link", name="新增").click()
    family.get_by_label("標題").fill("測試家庭聯絡簿1007")
    family.get_by_label("家庭聯絡簿內文").fill("爸爸，孩子們這週都很好，期末考也考得不錯。")
    assert family.locator("#body-count").inner_text() == "21"
    family.get_by_label("附件 1").set_input_files(png("測試用照片.png", 3))
    screenshot(family, "portal-post-new")
    family.get_by_role("button", name="確認").click()
    family.wait_for_url("**/contactbook")
    expect(family.get_by_text("家庭聯絡簿已送出，待機關審核。")).to_be_visible()
    assert "待審核" in family.locator("tbody tr").first.inner_text()

    # 家庭聯絡簿審查: the queue shows the thumbnail; the review sheet approves
    staff.get_by_role("link", name="家庭聯絡簿審查").first.click()
    row = staff.locator("tbody tr", has_text="標題 : 測試家庭聯絡簿100...")
    content = "TO : 0609-李○○ 標題 : 測試家庭聯絡簿100... 內文 : 爸爸，孩子們這週都很..."
    assert content in row.inner_text()
    thumbnail = row.locator("td.thumb img")
    thumbnail.wait_for()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(staff, "admin-review-queue")
    row.get_by_role("link", name="審核").click()
    expect(staff.get_by_text("收容人資訊")).to_be_visible()
    expect(staff.get_by_text("家屬資訊")).to_be_visible()
    assert staff.locator("dl.facts").first.inner_text().count("李○○") == 1
    screenshot(staff, "admin-review-sheet")
    staff.get_by_label("審核結果").select_option("approve")
    staff.get_by_role("button", name="審核").click()
    expect(staff.get_by_text("審核完成：審核通過。")).to_be_visible()

    # 交付收容人, then the family sees 審核通過 and the delivery
    staff.get_by_role("link", name="交付收容人").first.click()
    staff.locator("tbody tr", has_text="測試家庭聯絡簿1007").get_by_role(
        "button", name="已交付"
    ).click()
    expect(staff.get_by_text("已交付收容人查閱。")).to_be_visible()

    family.goto("/contactbook?status=approved")
    row = family.locator("tbody tr", has_text="測試家庭聯絡簿1007")
    assert "審核通過" in row.inner_text()
    assert row.locator("td.delivery").inner_text() == "已交付 2020/10/07"
    screenshot(family, "portal-posts")


def test_rejection_with_reason_and_revision(live_server: LiveServer, new_page: Any) -> None:
    live_server.family_with_grant("mei.chen@example.com", "陳美玲", "22345678")
    family = new_page()
    family_login(family, "mei.chen@example.com")
    family.goto("/contactbook/new")
    family.get_by_label("標題").fill("近況")
    family.get_by_label("家庭聯絡簿內文").fill("請幫我申請接見。")
    family.get_by_role("button", name="確認").click()
    family.wait_for_url("**/contactbook")

    staff = new_page()
    staff_login(staff, live_server)
    staff.goto("/admin/posts")
    staff.locator("tbody tr", has_text="近況").get_by_role("link", name="審核").click()
    staff.get_by_label("審核結果").select_option("reject")
    staff.get_by_role("button", name="審核").click()
    # 不通過原因 left at 請選擇
    expect(staff.get_by_text("請選擇不通過原因。").first).to_be_visible()
    staff.get_by_label("審核結果").select_option("reject")
    staff.get_by_label("不通過原因").select_option("official_business")
    staff.get_by_label("說明").fill("接見請至服務項目申請辦理")
    staff.get_by_role("button", name="審核").click()
    expect(staff.get_by_text("審核完成：審核未通過。")).to_be_visible()
    live_server.clock.advance(hours=2)

    family.goto("/contactbook?status=rejected")
    row = family.locator("tbody tr", has_text="近況")
    assert "審核未通過" in row.inner_text()
    assert "涉及公務申辦" in row.inner_text() and "接見請至服務項目申請辦理" in row.inner_text()
    screenshot(family, "portal-post-rejected")
    row.get_by_role("link", name="修改後重新送出").click()
    expect(family.get_by_label("標題")).to_have_value("近況")
    family.get_by_label("家庭聯絡簿內文").fill("孩子們都很好，我們等你回家。")
    screenshot(family, "portal-post-revise")
    family.get_by_role("button", name="確認").click()
    expect(family.get_by_text("已修改並重新送出，待機關審核。")).to_be_visible()
    statuses = family.locator("tbody tr td:nth-child(5)").all_inner_texts()
    assert [s.split()[0] for s in statuses] == ["待審核", "審核未通過"]

    staff.goto("/admin/posts")
    assert "孩子們都很好" in staff.locator("tbody").inner_text()


def test_notice_publish_edit_delete_and_the_family_month_view(
    live_server: LiveServer, new_page: Any
) -> None:
    book = live_server.book
    live_server.family_with_grant("mei.chen@example.com", "陳美玲", "22345678")
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)
    import contactbook

    book.notices.publish(
        reviewer, contactbook.NoticeDraft(title="九月懇親活動", body="九月份懇親活動公告。")
    )
    live_server.clock.advance(days=30)  # 2020-11: a second 發佈年月

    staff = new_page()
    staff_login(staff, live_server)
    staff.locator("nav.menu").get_by_role("link", name="人員管理").click()
    expect(staff.get_by_role("alert")).to_have_text("您的角色無法執行此操作。")  # admins only
    staff.goto("/admin/notices")
    staff.get_by_role("link", name="新增").click()
    staff.get_by_label("標題").fill("測試機關聯絡簿1007")
    staff.get_by_label("內容").fill("測試機關聯絡簿1007\n機關聯絡簿內文")
    files = staff.locator("input[type=file]")
    files.nth(0).set_input_files(pdf("測試用文件1.pdf"))
    files.nth(1).set_input_files(png("測試用照片.png", 4))
    screenshot(staff, "admin-notice-new")
    staff.get_by_role("button", name="確認").click()
    expect(staff.get_by_text("機關聯絡簿已新增成功")).to_be_visible()
    staff.get_by_role("link", name="確認").click()
    row = staff.locator("tbody tr", has_text="測試機關聯絡簿1007")
    assert "PDF檔: 測試用文件1.pdf" in row.inner_text()
    screenshot(staff, "admin-notices")

    # 編輯: 刪除 one attachment (stays on the page), change the title, 確認
    row.get_by_role("link", name="編輯").click()
    staff.locator(".attachment-row", has_text="測試用文件1.pdf").get_by_role(
        "button", name="刪除"
    ).click()
    expect(staff.get_by_text("附件已刪除。")).to_be_visible()
    assert "測試用文件1.pdf" not in staff.locator(".existing").inner_text()
    staff.get_by_label("標題").fill("測試機關聯絡簿1007-2")
    screenshot(staff, "admin-notice-edit")
    staff.get_by_role("button", name="確認").click()
    expect(staff.get_by_text("機關聯絡簿已修改")).to_be_visible()

    # the family's month view, the detail page and the attachment download
    family = new_page()
    family_login(family, "mei.chen@example.com")
    family.goto("/notices")
    months = family.locator("aside.months li").all_inner_texts()
    assert months == ["全部", "2020年11月", "2020年10月"]
    card = family.locator("article.notice-card", has_text="測試機關聯絡簿1007-2")
    assert "From 基隆監獄" in card.inner_text()
    card.locator("img").wait_for()
    screenshot(family, "portal-notices")
    family.get_by_role("link", name="2020年10月").click()
    # wait for the month page itself: reading the cards at once may catch the page mid-load
    expect(family).to_have_url(re.compile(r"month=2020-10"))
    expect(family.locator("article.notice-card").first).to_contain_text("九月懇親活動")
    family.goto("/notices?month=2020-11")
    family.locator("article.notice-card", has_text="測試機關聯絡簿1007-2").get_by_role(
        "link", name="詳細內容→"
    ).click()
    expect(family.get_by_text("發佈日期")).to_be_visible()
    screenshot(family, "portal-notice-detail")
    with family.expect_download() as download_info:
        family.get_by_role("link", name=re.compile("附件下載")).click()
    assert download_info.value.suggested_filename == "測試用照片.png"

    # 刪除 with 確認刪除?, and it is gone for the family
    staff.goto("/admin/notices")
    staff.locator("tbody tr", has_text="測試機關聯絡簿1007-2").get_by_role(
        "link", name="刪除"
    ).click()
    expect(staff.get_by_role("heading", name="確認刪除?")).to_be_visible()
    screenshot(staff, "admin-notice-delete")
    staff.get_by_role("button", name="確認").click()
    expect(staff.get_by_text("機關聯絡簿已刪除")).to_be_visible()
    assert "測試機關聯絡簿1007-2" not in staff.locator("tbody").inner_text()
    family.goto("/notices")
    assert "測試機關聯絡簿1007-2" not in family.locator("main").inner_text()


def test_an_admin_changes_roles_deactivates_and_reactivates_on_the_staff_page(
    live_server: LiveServer, new_page: Any
) -> None:
    admin = new_page()
    staff_login(admin, live_server, username="agency.admin")
    admin.locator("nav.menu").get_by_role("link", name="人員管理").click()
    row = admin.locator('tr[data-staff="klp.reviewer"]')
    expect(row.locator("td.state")).to_have_text("使用中")
    expect(admin.locator('tr[data-staff="agency.admin"] form.roles')).to_have_count(0)
    screenshot(admin, "admin-staff")
    row.get_by_label("審核人員", exact=True).uncheck()
    row.get_by_role("button", name="變更角色").click()
    expect(admin.get_by_text("已變更 klp.reviewer 的角色。")).to_be_visible()
    expect(row.get_by_label("審核人員", exact=True)).not_to_be_checked()
    expect(row.get_by_label("發佈人員", exact=True)).to_be_checked()

    row.get_by_role("button", name="停用", exact=True).click()
    expect(admin.get_by_text("已停用 klp.reviewer")).to_be_visible()
    expect(row.locator("td.state")).to_have_text("已停用")
    expect(row.get_by_role("button", name="重設密碼")).to_have_count(0)
    row.get_by_role("button", name="重新啟用").click()
    expect(admin.get_by_text("已重新啟用 klp.reviewer")).to_be_visible()
    expect(row.locator("td.state")).to_have_text("使用中")
    expect(row.get_by_role("button", name="重設密碼")).to_be_visible()


def test_message_log(live_server: LiveServer, new_page: Any) -> None:
    live_server.family_with_grant("mei.chen@example.com", "陳美玲", "22345678")
    family = new_page()
    family_login(family, "mei.chen@example.com")
    family.goto("/messages")
    rows = family.locator("tbody tr").all_inner_texts()
    assert len(rows) == 2
    assert "服務項目申請 審核通過" in rows[0]
    assert "便民服務入口網 註冊通知" in rows[1]
    assert all("電子郵件" in r and "me*****" in r for r in rows)
    assert "mei.chen@example.com" not in family.locator("tbody").inner_text()
    screenshot(family, "portal-messages")
    family.get_by_role("link", name="English").click()
    expect(family.get_by_role("heading", name="SMS & e-mail log")).to_be_visible()
    assert "E-mail" in family.locator("tbody tr").first.inner_text()


def test_a_post_without_csrf_token_is_refused(live_server: LiveServer, new_page: Any) -> None:
    live_server.family_with_grant("mei.chen@example.com", "陳美玲", "22345678")
    family = new_page()
    family_login(family, "mei.chen@example.com")
    form = {"title": "偽造", "body": "沒有 CSRF token 的請求"}
    response = family.request.post(f"{live_server.url}/contactbook/new", form=form)
    assert response.status == 403
    assert "請求遭拒" in response.text()
    forged = family.request.post(
        f"{live_server.url}/contactbook/new", form={**form, "csrf_token": "guess"}
    )
    assert forged.status == 403
    family.goto("/contactbook")
    assert "偽造" not in family.locator("main").inner_text()


def test_another_familys_attachment_answers_404(live_server: LiveServer, new_page: Any) -> None:
    live_server.family_with_grant("mei.chen@example.com", "陳美玲", "22345678")
    live_server.family_with_grant("hao.lin@example.com", "林志豪", "12345670", "0619")
    owner = new_page()
    family_login(owner, "mei.chen@example.com")
    owner.goto("/contactbook/new")
    owner.get_by_label("標題").fill("照片")
    owner.get_by_label("家庭聯絡簿內文").fill("家裡的照片")
    owner.get_by_label("附件 1").set_input_files(png("家.png", 5))
    owner.get_by_role("button", name="確認").click()
    owner.wait_for_url("**/contactbook")
    href = owner.get_by_role("link", name="家.png").get_attribute("href")
    assert href is not None and "/attachments/" in href
    mine = owner.request.get(f"{live_server.url}{href}")
    assert mine.status == 200
    assert mine.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%AE%B6.png" in mine.headers["content-disposition"]
    assert mine.headers["x-content-type-options"] == "nosniff"

    other = new_page()
    family_login(other, "hao.lin@example.com")
    response = other.goto(href)
    assert response is not None and response.status == 404
    expect(other.get_by_text("查無資料。")).to_be_visible()
    assert "家.png" not in other.content()


def test_national_id_helper() -> None:
    assert national_id("A", "12345678") == "A123456789"
